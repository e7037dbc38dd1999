//go:build mpi

package rl

import (
	"os"
	"testing"

	"github.com/frontier-rl/frontier/collective"
)

// TestMPIDataParallel is the data-parallel equality over real processes:
// launched as mpirun -np W ./rl.test -test.run MPI, each rank runs three
// steps on the MPI world and checks its weights and metrics against the
// same steps run on one rank in its own process, bit for bit.
func TestMPIDataParallel(t *testing.T) {
	c, err := collective.Open("mpi")
	if err != nil {
		t.Fatal(err)
	}
	const steps, shards = 3, 4
	if shards%c.Size() != 0 {
		t.Skipf("%d shards over %d ranks", shards, c.Size())
	}
	for _, nc := range dpConfigs() {
		cfg := nc.cfg
		t.Run(nc.name, func(t *testing.T) {
			one := dpTrainer(t, cfg)
			if err := one.EnableDataParallel(collective.Single{}, shards); err != nil {
				t.Fatal(err)
			}
			want := runSteps(t, one, steps)
			tr := dpTrainer(t, cfg)
			if err := tr.EnableDataParallel(c, shards); err != nil {
				t.Fatal(err)
			}
			got := runSteps(t, tr, steps)
			sameBits(t, params(one.M), params(tr.M), "weights")
			for s := range want {
				sameMetrics(t, want[s], got[s])
			}
			t.Logf("rank %d of %d: %d steps equal one rank's", c.Rank(), c.Size(), steps)
		})
	}
}

// TestMPISFTParallel: SFT steps over the MPI world equal one rank's.
func TestMPISFTParallel(t *testing.T) {
	c, err := collective.Open("mpi")
	if err != nil {
		t.Fatal(err)
	}
	const steps, shards = 3, 4
	if shards%c.Size() != 0 {
		t.Skipf("%d shards over %d ranks", shards, c.Size())
	}
	wantLoss, wantW := sftRun(t, collective.Single{}, steps, shards)
	gotLoss, gotW := sftRun(t, c, steps, shards)
	sameBits(t, wantW, gotW, "SFT weights")
	sameLosses(t, wantLoss, gotLoss)
}

// TestMain finalises MPI when a test opened it: mpirun fails a rank that
// exits without MPI_Finalize.
func TestMain(m *testing.M) {
	code := m.Run()
	if collective.Launched() {
		if c, err := collective.Open("mpi"); err == nil {
			c.Close()
		}
	}
	os.Exit(code)
}
