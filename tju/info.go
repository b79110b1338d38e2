package tju

import (
	"time"

	"github.com/tjunet/tjunet/internal/tcb"
)

// State is a connection state, numbered as the TJU lab numbers them.
type State uint8

// Connection states.
const (
	StateClosed      State = State(tcb.Closed)
	StateListen      State = State(tcb.Listen)
	StateSynSent     State = State(tcb.SynSent)
	StateSynRecv     State = State(tcb.SynRecv)
	StateEstablished State = State(tcb.Established)
	StateFinWait1    State = State(tcb.FinWait1)
	StateFinWait2    State = State(tcb.FinWait2)
	StateCloseWait   State = State(tcb.CloseWait)
	StateClosing     State = State(tcb.Closing)
	StateLastAck     State = State(tcb.LastAck)
	StateTimeWait    State = State(tcb.TimeWait)
)

// String returns the state's lab name, such as "ESTABLISHED".
func (s State) String() string { return tcb.State(s).String() }

// Info is a snapshot of a connection, in the spirit of Linux TCP_INFO.
type Info struct {
	State  State
	SRTT   time.Duration // smoothed round-trip time
	RTTVar time.Duration // round-trip time variation
	MinRTT time.Duration // smallest RTT sample
	RTO    time.Duration // retransmission timeout in force, backoff included

	Cwnd       int     // congestion window, bytes
	Ssthresh   int     // slow-start threshold, bytes
	SendWindow int     // the peer's advertised window, bytes
	RecvWindow int     // our free receive buffer, bytes
	MSS        int     // payload bytes per segment
	Extensions bool    // window scaling, SACK and checksums negotiated
	PacingRate float64 // bytes per second the sender paces at; 0: not paced

	BytesSent       uint64 // payload bytes transmitted, retransmissions included
	BytesAcked      uint64 // payload bytes the peer acknowledged
	BytesReceived   uint64 // payload bytes received in order
	SegmentsSent    uint64
	SegmentsRecv    uint64
	Retransmits     uint64 // segments retransmitted
	Timeouts        uint64 // retransmission timeouts
	FastRecoveries  uint64 // loss recoveries entered on duplicate ACKs or SACK
	TailLossProbes  uint64 // tail loss probes sent (RFC 8985 section 7)
	DuplicateSegs   uint64 // segments received that brought no new byte
	DroppedNoChksum uint64 // segments dropped for lacking the negotiated checksum
	DroppedBadMAC   uint64 // segments dropped for failing or lacking the negotiated MAC
	OutOfWindow     uint64 // segments dropped outside the receive window (RFC 9293), or without ACK from a tjunet peer
	BadACKs         uint64 // segments dropped for acknowledging unsent or ancient data (RFC 5961 section 5)
	ChallengeACKs   uint64 // challenge ACKs sent for RSTs, SYNs and bad segments (RFC 5961), at most 10 a second

	// Model is what a model-based controller (bbr) knows of the path;
	// zero for the window-only ones.
	Model CCModel
}

// CCModel is a model-based congestion controller's view of the path.
type CCModel struct {
	Mode             string        // phase: "startup", "drain", "probe_bw" or "probe_rtt"
	Bandwidth        float64       // bottleneck bandwidth estimate, bytes per second
	MinRTT           time.Duration // round-trip propagation time estimate
	StartupDone      bool          // startup has ended
	StartupEnd       time.Duration // when startup ended, after the handshake
	StartupBandwidth float64       // the bandwidth estimate when startup ended, bytes per second
	Rounds           uint64        // round trips counted
	CongestedRounds  uint64        // rounds whose loss came with a queue and so counted as congestion
}

func infoFrom(i tcb.Info) Info {
	return Info{
		State: State(i.State), SRTT: i.SRTT, RTTVar: i.RTTVar, MinRTT: i.MinRTT, RTO: i.RTO,
		Cwnd: i.Cwnd, Ssthresh: i.Ssthresh, SendWindow: i.SendWindow, RecvWindow: i.RecvWindow,
		MSS: i.MSS, Extensions: i.Extensions, PacingRate: i.PacingRate,
		BytesSent: i.BytesSent, BytesAcked: i.BytesAcked, BytesReceived: i.BytesReceived,
		SegmentsSent: i.SegsSent, SegmentsRecv: i.SegsReceived, Retransmits: i.SegsRetrans,
		Timeouts: i.Timeouts, FastRecoveries: i.FastRecovery, TailLossProbes: i.TLPs, DuplicateSegs: i.DupSegsRecv,
		DroppedNoChksum: i.DroppedNoCRC,
		DroppedBadMAC:   i.DroppedBadMAC,
		OutOfWindow:     i.OutOfWindow, BadACKs: i.BadACKs, ChallengeACKs: i.ChallengeACKs,
		Model: CCModel{Mode: i.Model.Mode, Bandwidth: i.Model.Bandwidth, MinRTT: i.Model.MinRTT,
			StartupDone: i.Model.StartupDone, StartupEnd: i.Model.StartupEnd,
			StartupBandwidth: i.Model.StartupBandwidth, Rounds: i.Model.Rounds,
			CongestedRounds: i.Model.CongestedRounds},
	}
}
