package gdro

import (
	"bytes"
	"encoding/json"
	"testing"
)

// FuzzUnmarshalState feeds arbitrary bytes to every controller's
// UnmarshalJSON: it must never panic, and a state it accepts must marshal,
// restore and marshal again to the same bytes.
func FuzzUnmarshalState(f *testing.F) {
	f.Add([]byte(`{"config":{"edges":[0.5],"window":2},"prompts":{"a":{"values":[1,0.5],"bin":1}}}`))
	f.Add([]byte(`{"config":{"edges":[0.3,0.6]},"prompts":{"a":{"sum":1.5,"count":2,"bin":2}}}`))
	f.Add([]byte(`{"config":{"eta":1,"beta":1,"w_max":15},"scores":[0.5,1],"seen":[true,false],"last_weights":[1,0]}`))
	f.Add([]byte(`{"config":{"n_min":1,"n_max":3,"n_bar":2,"sign":"paper"},"scores":[[0,1,2]],"mu":0.5,"last_counts":[4],"last_rollouts":[2]}`))
	f.Add([]byte(`{"config":{"n_min":1,"n_max":3,"n_bar":2,"beta":0.5,"eps":0.1},"variances":[0.2],"seen":[true]}`))
	f.Add([]byte(`{"config":{"n_min":1,"n_max":3,"n_bar":2,"beta":0.5,"eps":0.1},"variances":[0.2,0],"seen":[true,false],"last_counts":[2,0],"last_rollouts":[3,0]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		targets := []func() json.Unmarshaler{
			func() json.Unmarshaler { return &Classifier{} },
			func() json.Unmarshaler { return &PromptGDRO{} },
			func() json.Unmarshaler { return &RolloutGDRO{} },
			func() json.Unmarshaler { return &SqrtAllocator{} },
		}
		for _, newTarget := range targets {
			v := newTarget()
			if err := v.UnmarshalJSON(data); err != nil {
				continue
			}
			first, err := json.Marshal(v)
			if err != nil {
				t.Fatalf("%T: accepted state does not marshal: %v", v, err)
			}
			w := newTarget()
			if err := w.UnmarshalJSON(first); err != nil {
				t.Fatalf("%T: own state rejected: %v", v, err)
			}
			second, err := json.Marshal(w)
			if err != nil || !bytes.Equal(first, second) {
				t.Fatalf("%T: state changed on a round trip:\n%s\n%s", v, first, second)
			}
		}
	})
}
