package trace

import "testing"

func TestRecorderAndMulti(t *testing.T) {
	var r1, r2 Recorder
	tr := Multi(&r1, nil, &r2)
	e := Event{Kind: KindCwnd, Size: 1}
	tr.Trace(&e)
	e.Size = 2 // the recorder copied the first
	tr.Trace(&e)
	for _, r := range []*Recorder{&r1, &r2} {
		got := r.Events()
		if len(got) != 2 || got[0].Size != 1 || got[1].Size != 2 {
			t.Errorf("recorded %+v", got)
		}
	}
}
