package labpeertest_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/labpeer/labpeertest"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
)

func testData(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{5}).Read(b)
	return b
}

// sendToStudent sends data from tjunet's client with cfg to the student's
// server (peer ISN 0 assumed, window 1, FIN seq 0) over a link with
// impairment link, and returns what the server read and what the
// client's connection said.
func sendToStudent(t *testing.T, cfg tju.Config, data []byte, link netem.Config, wait time.Duration) (got []byte, info tju.Info, err error) {
	synctest.Test(t, func(t *testing.T) {
		n := netem.NewNetwork()
		spc, _ := n.Attach(labpeer.LabServerAddr, link)
		cpc, _ := n.Attach(labpeer.LabClientAddr, link)
		var out bytes.Buffer
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		served := make(chan error, 1)
		go func() {
			served <- (&labpeertest.Skeleton{Habits: labpeertest.Student, Out: &out}).Run(ctx, spc, labpeer.AppAcceptReadClose)
		}()
		ep := tju.NewEndpoint(cpc, &cfg)
		defer ep.Close()
		c, derr := ep.Dial(ctx, labpeer.LabServerAddr.String(), labpeer.LabServerPort)
		if derr != nil {
			err = derr
			return
		}
		c.SetDeadline(time.Now().Add(wait))
		if _, err = c.Write(data); err == nil {
			if err = c.CloseWrite(); err == nil {
				_, err = io.Copy(io.Discard, c) // the student's FIN (seq 0) ends it
			}
		}
		info = c.Info()
		c.Abort()
		cancel()
		<-served
		got = out.Bytes()
	})
	return got, info, err
}

// TestTjunetSendsToTheStudent: with Config.ISN 0 and Config.LabWindow,
// tjunet's client delivers 1 MB intact to the student's server over a
// lossy link and takes its FIN with seq 0; with the defaults the student
// never acknowledges a byte (its ACKs all say 1).
func TestTjunetSendsToTheStudent(t *testing.T) {
	data := testData(1 << 20)
	lossy := netem.Config{Loss: 0.01, Delay: 20 * time.Millisecond, Seed: 3}
	got, info, err := sendToStudent(t, tju.Config{Lab: true, ISN: new(uint32(0)), LabWindow: true}, data, lossy, 5*time.Minute)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("--isn 0 --lab-window: err %v; the student got %d of %d bytes", err, len(got), len(data))
	}
	if info.SendWindow != tju.LabFixedWindow {
		t.Errorf("send window %d, want the lab's %d", info.SendWindow, tju.LabFixedWindow)
	}
	_, info, err = sendToStudent(t, tju.Config{Lab: true}, data, netem.Config{}, 20*time.Second)
	if err == nil || info.BytesAcked != 0 {
		t.Errorf("a random ISN: err %v, %d bytes acknowledged; the student acknowledges nothing", err, info.BytesAcked)
	}
}
