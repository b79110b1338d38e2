package labpeer_test

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/tjunet/tjunet/labpeer"
	"github.com/tjunet/tjunet/labpeer/labpeertest"
	"github.com/tjunet/tjunet/netem"
	"github.com/tjunet/tjunet/tju"
)

// lossy is the impairment of the check's own end in these tests.
var lossy = netem.Config{Loss: 0.02, Delay: 20 * time.Millisecond, Jitter: 5 * time.Millisecond, Seed: 7}

func testData(n int) []byte {
	b := make([]byte, n)
	rand.NewChaCha8([32]byte{1}).Read(b)
	return b
}

// labHosts returns the check's socket and the implementation's, of role,
// on a fresh in-memory network with the lab's two hosts.
func labHosts(role labpeer.Role) (check, impl net.PacketConn) {
	n := netem.NewNetwork()
	ca, ia := labpeertest.Hosts(role)
	check, _ = n.Attach(ca, netem.Config{})
	impl, _ = n.Attach(ia, netem.Config{})
	return check, impl
}

// TestTransferFromClient: tjunet's client sends 2 MB to the transfer check
// over a lossy link; the check verifies it byte for byte.
func TestTransferFromClient(t *testing.T) {
	data := testData(2 << 20)
	synctest.Test(t, func(t *testing.T) {
		gpc, cpc := labHosts(labpeer.Client)
		ep := tju.NewEndpoint(cpc, &tju.Config{Lab: true})
		defer ep.Close()
		go func() {
			c, err := ep.Dial(context.Background(), labpeer.LabServerAddr.String(), labpeer.LabServerPort)
			if err != nil {
				t.Error(err)
				return
			}
			c.Write(data)
			c.CloseWrite()
			io.Copy(io.Discard, c)
			c.Close()
		}()
		res := labpeer.Transfer(context.Background(), gpc, labpeer.TransferOptions{
			IUT: labpeer.Client, Data: bytes.NewReader(data), Lab: true, Out: lossy, In: lossy,
		})
		if !res.Pass || res.Bytes != int64(len(data)) || res.Verified != "identical" {
			t.Fatalf("transfer: %+v", res)
		}
		t.Logf("%d bytes in %v (virtual), %.1f MB within %v", res.Bytes, res.Elapsed, res.MB, res.Limit)
	})
}

// TestTransferToServer: the check sends 2 MB to tjunet's server over a
// lossy link; what the server read is identical.
func TestTransferToServer(t *testing.T) {
	data := testData(2 << 20)
	synctest.Test(t, func(t *testing.T) {
		gpc, spc := labHosts(labpeer.Server)
		ep := tju.NewEndpoint(spc, &tju.Config{Lab: true})
		defer ep.Close()
		l, err := ep.Listen(labpeer.LabServerPort)
		if err != nil {
			t.Fatal(err)
		}
		var got bytes.Buffer
		done := make(chan struct{})
		go func() {
			defer close(done)
			c, err := l.Accept()
			if err != nil {
				return
			}
			io.Copy(&got, c)
			c.Close()
		}()
		res := labpeer.Transfer(context.Background(), gpc, labpeer.TransferOptions{
			IUT: labpeer.Server, Peer: labpeer.LabServerAddr, Data: bytes.NewReader(data), Lab: true, Out: lossy, In: lossy,
		})
		<-done
		if !res.Pass || res.Bytes != int64(len(data)) || !bytes.Equal(got.Bytes(), data) {
			t.Fatalf("transfer: %+v; server got %d bytes", res, got.Len())
		}
	})
}

// TestTransferWithTheStudent: the transfer check's scripted ends work with
// the student's skeleton-shaped code: its client's 200 kB arrive intact
// (data with flags 0, a FIN with seq 0), and sending to its server fails
// with a word about the ISN it assumes.
func TestTransferWithTheStudent(t *testing.T) {
	data := testData(200 << 10)
	synctest.Test(t, func(t *testing.T) {
		gpc, cpc := labHosts(labpeer.Client)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go (&labpeertest.Skeleton{Habits: labpeertest.Student, Data: data}).Run(ctx, cpc, labpeer.AppConnectSend)
		res := labpeer.Transfer(ctx, gpc, labpeer.TransferOptions{IUT: labpeer.Client, Data: bytes.NewReader(data), Lab: true, Out: lossy, In: lossy})
		if !res.Pass || res.Verified != "identical" {
			t.Errorf("from the student's client: %+v", res)
		}
	})
	synctest.Test(t, func(t *testing.T) {
		gpc, spc := labHosts(labpeer.Server)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go (&labpeertest.Skeleton{Habits: labpeertest.Student}).Run(ctx, spc, labpeer.AppAcceptReadClose)
		res := labpeer.Transfer(ctx, gpc, labpeer.TransferOptions{IUT: labpeer.Server, Peer: labpeer.LabServerAddr,
			Data: bytes.NewReader(data), Limit: 20 * time.Second})
		if res.Pass || res.Bytes != 0 || !strings.Contains(res.Problem, "assumes ISN 0") {
			t.Errorf("to the student's server: %+v", res)
		}
	})
}
