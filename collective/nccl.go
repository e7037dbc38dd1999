//go:build cuda

package collective

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stddef.h>
#include <string.h>

// Neither Debian nor the CUDA 11.8 toolkit it packages ships nccl.h, so the
// few NCCL 2 declarations used here are restated from its documented API
// and the library is loaded with dlopen at run time: the package builds on
// any machine, and only a run needs libnccl.so.2.
typedef struct { char internal[128]; } fr_ncclUniqueId; // NCCL_UNIQUE_ID_BYTES
typedef void *fr_ncclComm;
typedef void *fr_stream;                                 // cudaStream_t
enum { fr_ncclSuccess = 0, fr_ncclFloat32 = 7, fr_ncclSum = 0 };

typedef int (*fr_getUniqueId)(fr_ncclUniqueId *);
typedef int (*fr_commInitRank)(fr_ncclComm *, int, fr_ncclUniqueId, int);
typedef int (*fr_allReduce)(const void *, void *, size_t, int, int, fr_ncclComm, fr_stream);
typedef int (*fr_allGather)(const void *, void *, size_t, int, fr_ncclComm, fr_stream);
typedef int (*fr_broadcast)(const void *, void *, size_t, int, int, fr_ncclComm, fr_stream);
typedef int (*fr_commDestroy)(fr_ncclComm);
typedef const char *(*fr_errorString)(int);

static struct {
	void *lib;
	fr_getUniqueId getUniqueId;
	fr_commInitRank commInitRank;
	fr_allReduce allReduce;
	fr_allGather allGather;
	fr_broadcast broadcast;
	fr_commDestroy commDestroy;
	fr_errorString errorString;
} fr_nccl;

// fr_nccl_load opens libnccl.so.2 and finds the functions; it returns NULL
// or the dlerror text.
static const char *fr_nccl_load(void) {
	if (fr_nccl.lib) return NULL;
	void *lib = dlopen("libnccl.so.2", RTLD_NOW | RTLD_GLOBAL);
	if (!lib) return dlerror();
	#define FR_SYM(field, name) \
		if (!(*(void **)&fr_nccl.field = dlsym(lib, name))) return dlerror();
	FR_SYM(getUniqueId, "ncclGetUniqueId")
	FR_SYM(commInitRank, "ncclCommInitRank")
	FR_SYM(allReduce, "ncclAllReduce")
	FR_SYM(allGather, "ncclAllGather")
	FR_SYM(broadcast, "ncclBroadcast")
	FR_SYM(commDestroy, "ncclCommDestroy")
	FR_SYM(errorString, "ncclGetErrorString")
	#undef FR_SYM
	fr_nccl.lib = lib;
	return NULL;
}

static int fr_nccl_unique_id(char *out) {
	fr_ncclUniqueId id;
	int rc = fr_nccl.getUniqueId(&id);
	memcpy(out, id.internal, sizeof id.internal);
	return rc;
}
static int fr_nccl_init(fr_ncclComm *comm, int size, const char *idBytes, int rank) {
	fr_ncclUniqueId id;
	memcpy(id.internal, idBytes, sizeof id.internal);
	return fr_nccl.commInitRank(comm, size, id, rank);
}
static int fr_nccl_allreduce(fr_ncclComm c, size_t buf, size_t n) {
	return fr_nccl.allReduce((void *)buf, (void *)buf, n, fr_ncclFloat32, fr_ncclSum, c, NULL);
}
static int fr_nccl_allgather(fr_ncclComm c, size_t send, size_t recv, size_t n) {
	return fr_nccl.allGather((void *)send, (void *)recv, n, fr_ncclFloat32, c, NULL);
}
static int fr_nccl_broadcast(fr_ncclComm c, size_t buf, size_t n, int root) {
	return fr_nccl.broadcast((void *)buf, (void *)buf, n, fr_ncclFloat32, root, c, NULL);
}
static int fr_nccl_destroy(fr_ncclComm c) { return fr_nccl.commDestroy(c); }
static const char *fr_nccl_error(int rc) { return fr_nccl.errorString(rc); }
*/
import "C"

import (
	"fmt"
	"math"
	"unsafe"
)

// NCCL is an NCCL communicator over the ranks of a bootstrap Comm (MPI),
// one GPU per rank. Its collectives take device addresses (kernels/cuda's
// Buf.Ptr) and are queued on the default stream, ordered with the CUDA
// backend's kernels; a host read of the result waits for them. Select each
// rank's GPU (e.g. by its rank on the node) before NewNCCL.
type NCCL struct {
	comm       C.fr_ncclComm
	rank, size int
	boot       Comm
}

// NewNCCL loads libnccl.so.2, takes a unique id from rank 0 of boot,
// broadcasts it through boot and joins every rank into one communicator.
func NewNCCL(boot Comm) (*NCCL, error) {
	if msg := C.fr_nccl_load(); msg != nil {
		return nil, fmt.Errorf("collective: loading NCCL: %s (install NCCL 2 and put libnccl.so.2 on LD_LIBRARY_PATH)", C.GoString(msg))
	}
	var id [128]byte
	if boot.Rank() == 0 {
		if err := ncclErr("ncclGetUniqueId", C.fr_nccl_unique_id((*C.char)(unsafe.Pointer(&id[0])))); err != nil {
			return nil, err
		}
	}
	words := make([]float32, len(id)/4)
	for i := range words {
		words[i] = math.Float32frombits(uint32(id[4*i]) | uint32(id[4*i+1])<<8 | uint32(id[4*i+2])<<16 | uint32(id[4*i+3])<<24)
	}
	if err := boot.Broadcast(words, 0); err != nil {
		return nil, fmt.Errorf("collective: broadcasting the NCCL id: %w", err)
	}
	for i, w := range words {
		b := math.Float32bits(w)
		id[4*i], id[4*i+1], id[4*i+2], id[4*i+3] = byte(b), byte(b>>8), byte(b>>16), byte(b>>24)
	}
	n := &NCCL{rank: boot.Rank(), size: boot.Size(), boot: boot}
	if err := ncclErr("ncclCommInitRank", C.fr_nccl_init(&n.comm, C.int(n.size), (*C.char)(unsafe.Pointer(&id[0])), C.int(n.rank))); err != nil {
		return nil, err
	}
	return n, nil
}

func ncclErr(op string, rc C.int) error {
	if rc == C.fr_ncclSuccess {
		return nil
	}
	return fmt.Errorf("collective: %s: %s (NCCL error %d)", op, C.GoString(C.fr_nccl_error(rc)), int(rc))
}

// Rank is this process's rank.
func (n *NCCL) Rank() int { return n.rank }

// Size is the number of ranks.
func (n *NCCL) Size() int { return n.size }

// AllReduce sums count float32 values at buf over the ranks, in place, in
// the order NCCL's algorithm chooses (not world-size independent).
func (n *NCCL) AllReduce(buf uintptr, count int) error {
	return ncclErr("ncclAllReduce", C.fr_nccl_allreduce(n.comm, C.size_t(buf), C.size_t(count)))
}

// AllGather places rank r's count values at send into recv + r·count
// (recv holds Size()·count values).
func (n *NCCL) AllGather(send, recv uintptr, count int) error {
	return ncclErr("ncclAllGather", C.fr_nccl_allgather(n.comm, C.size_t(send), C.size_t(recv), C.size_t(count)))
}

// Broadcast copies root's count values at buf to every rank's buf.
func (n *NCCL) Broadcast(buf uintptr, count, root int) error {
	if root < 0 || root >= n.size {
		return fmt.Errorf("collective: NCCL broadcast from rank %d in a world of %d", root, n.size)
	}
	return ncclErr("ncclBroadcast", C.fr_nccl_broadcast(n.comm, C.size_t(buf), C.size_t(count), C.int(root)))
}

// Barrier waits for every rank through the bootstrap Comm.
func (n *NCCL) Barrier() error { return n.boot.Barrier() }

// Close destroys the communicator (not the bootstrap Comm).
func (n *NCCL) Close() error { return ncclErr("ncclCommDestroy", C.fr_nccl_destroy(n.comm)) }
