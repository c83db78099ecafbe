package report

import (
	"time"

	"github.com/messenger-go/messenger/cmd/msgbench/internal/measure"
)

// Run is one invocation of the generator against one set of servers.
type Run struct {
	Label string `json:"label"`
	// Group names the configuration a run repeats: the report gives the
	// median and range over the runs of a group. Empty: the label.
	Group   string    `json:"group,omitempty"`
	Mode    string    `json:"mode"` // ModeMessages or ModeConnections
	Started time.Time `json:"started"`
	Targets []string  `json:"targets"`
	Users   int       `json:"users"`
	// SendOver is how messages were sent: "http" or "socket".
	SendOver string `json:"sendOver,omitempty"`
	Setup    Setup  `json:"setup"`
	Steps    []Step `json:"steps,omitempty"`
	Conns    *Conns `json:"connections,omitempty"`

	// MissingSequences counts, over every receiver and conversation, the
	// sequence numbers below the highest one seen that never arrived.
	MissingSequences int64            `json:"missingSequences"`
	Reconnects       int64            `json:"reconnects"`
	SocketErrors     map[string]int64 `json:"socketErrors,omitempty"`
	// HighestSustained is the highest target rate of the steps before the
	// first saturated one (0 when the first saturated).
	HighestSustained float64  `json:"highestSustainedRate"`
	Notes            []string `json:"notes,omitempty"`
}

// Modes of a Run.
const (
	ModeMessages    = "messages"
	ModeConnections = "connections"
)

// Setup is the preparation before the first step.
type Setup struct {
	MintSeconds     float64 `json:"mintSeconds"`
	RegisterSeconds float64 `json:"registerSeconds"`
	FriendSeconds   float64 `json:"friendSeconds"`
	// OpenSeconds is the time to send each conversation's first message and
	// see it arrive (conversations are created before the steps).
	OpenSeconds float64 `json:"openSeconds"`
	// AfterSetupSeconds is how long the after-setup hook ran (0: none).
	AfterSetupSeconds float64 `json:"afterSetupSeconds,omitempty"`
	ConnectSeconds    float64 `json:"connectSeconds"`
	ConnectFailures   int64   `json:"connectFailures"`
	Connect           Latency `json:"connectLatency"`
	SocketsHeld       int     `json:"socketsHeld"`
	// Server memory just before and after the sockets were opened, and the
	// difference per socket (the users already existed before).
	ServerRSSBefore   int64   `json:"serverRssBeforeBytes"`
	ServerRSSAfter    int64   `json:"serverRssAfterBytes"`
	RSSPerSocketBytes float64 `json:"rssPerSocketBytes"`
}

// Latency summarizes latencies in milliseconds.
type Latency struct {
	Count int     `json:"count"`
	P50   float64 `json:"p50Ms"`
	P95   float64 `json:"p95Ms"`
	P99   float64 `json:"p99Ms"`
	Max   float64 `json:"maxMs"`
	Mean  float64 `json:"meanMs"`
}

// Ms converts a duration to fractional milliseconds.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// FromSummary converts a measure.Summary.
func FromSummary(s measure.Summary) Latency {
	return Latency{Count: s.Count, P50: Ms(s.P50), P95: Ms(s.P95), P99: Ms(s.P99), Max: Ms(s.Max), Mean: Ms(s.Mean)}
}

// Step is one rate held for a while.
type Step struct {
	Rate            float64 `json:"targetRate"`
	WarmupSeconds   float64 `json:"warmupSeconds"`
	DurationSeconds float64 `json:"durationSeconds"`

	// Counts of the measured window (messages whose intended send time falls
	// in it); the warm-up is not counted.
	Scheduled    int64   `json:"scheduled"`
	Accepted     int64   `json:"accepted"`
	Failed       int64   `json:"failed"`
	AcceptedRate float64 `json:"acceptedPerSecond"`
	// DeliveredRate counts first deliveries to receivers that arrived in the
	// window, per second.
	DeliveredRate float64          `json:"deliveredPerSecond"`
	Send          Latency          `json:"send"`
	Delivery      Latency          `json:"delivery"`
	Errors        map[string]int64 `json:"errors,omitempty"`
	WarmupErrors  int64            `json:"warmupErrors"`

	// Integrity over every message of the step, warm-up included, after the
	// drain: each must be 0.
	Lost       int64 `json:"lost"`       // answered 202, never reached the receiver
	Duplicated int64 `json:"duplicated"` // a sequence seen twice on one socket
	OutOfOrder int64 `json:"outOfOrder"` // a sequence after a higher one on one socket
	// NotEchoed: answered 202, never reached the sender's own socket.
	NotEchoed int64 `json:"notEchoed"`
	// DeliveredAfterFailure: the send failed (an error or a timeout), yet
	// the message reached the receiver.
	DeliveredAfterFailure int64   `json:"deliveredAfterFailure"`
	DrainSeconds          float64 `json:"drainSeconds"`
	// LoadAverage is the machine's 1-minute load average at the end of the
	// measured window (what else was running shows in it).
	LoadAverage float64 `json:"loadAverage1m"`

	LagAvailable  bool    `json:"lagAvailable"`
	LagMax        float64 `json:"lagMaxRecords"`
	LagMaxSeconds float64 `json:"lagMaxSeconds"` // LagMax at the target rate
	LagEnd        float64 `json:"lagEndRecords"`

	SocketsHeld    int     `json:"socketsHeld"`
	ServerSockets  float64 `json:"serverSockets"` // from the servers' /metrics
	ServerCPUCores float64 `json:"serverCpuCores"`
	// ServerCPUPerMessage is server CPU time per accepted message, in
	// microseconds (every server process summed).
	ServerCPUPerMessage float64 `json:"serverCpuPerMessageMicros"`
	// ServerWritesPerMessage is the servers' write system calls per
	// accepted message (answers, frames, produce requests, queries).
	ServerWritesPerMessage float64     `json:"serverWritesPerMessage"`
	ServerRSS              int64       `json:"serverRssBytes"`
	RSSPerSocket           float64     `json:"serverRssPerSocketBytes"` // ServerRSS / sockets
	ClientCPUCores         float64     `json:"clientCpuCores"`
	Components             []Component `json:"components,omitempty"`

	// Profiles are the servers' CPU profiles of the window (files).
	Profiles []string `json:"profiles,omitempty"`

	Saturated        bool    `json:"saturated"`
	SaturationReason string  `json:"saturationReason,omitempty"`
	SaturationP99    float64 `json:"saturationP99Ms"` // the delivery p99 bound used
	Series           []Point `json:"series"`
}

// Component is the cost of one watched process tree during a step.
type Component struct {
	Name          string  `json:"name"`
	CPUCores      float64 `json:"cpuCores"`
	CPUPerMessage float64 `json:"cpuPerMessageMicros"`
	RSS           int64   `json:"rssBytes"`
}

// Point is one second of a step's measured window.
type Point struct {
	T           int     `json:"t"` // seconds since the window began
	Sent        int     `json:"sent"`
	SendP50     float64 `json:"sendP50Ms"`
	SendP99     float64 `json:"sendP99Ms"`
	Delivered   int     `json:"delivered"`
	DeliveryP50 float64 `json:"deliveryP50Ms"`
	DeliveryP99 float64 `json:"deliveryP99Ms"`
	Lag         float64 `json:"lagRecords"` // -1 when not sampled
}

// Conns is a connections-only run: sockets opened and held, nothing sent.
type Conns struct {
	Target          int     `json:"target"`
	ClientProcesses int     `json:"clientProcesses"`
	Held            int     `json:"held"`      // by the clients, once connecting ended
	HeldAtEnd       int     `json:"heldAtEnd"` // by the clients, at the end of the hold
	ServerSockets   float64 `json:"serverSockets"`
	Failed          int64   `json:"failed"`
	// ReadySeconds is the wall time from start to every socket tried,
	// client processes starting and minting tokens included.
	ReadySeconds float64 `json:"readySeconds"`
	// ConnectSeconds is the longest time a client spent opening sockets
	// (the clients open theirs in parallel).
	ConnectSeconds  float64 `json:"connectSeconds"`
	ConnectRate     float64 `json:"connectsPerSecond"`
	HoldSeconds     float64 `json:"holdSeconds"`
	ServerRSSBefore int64   `json:"serverRssBeforeBytes"`
	ServerRSSAfter  int64   `json:"serverRssAfterBytes"`
	// RSSPerSocket is the servers' memory growth per socket held.
	RSSPerSocket float64 `json:"serverRssPerSocketBytes"`
	// ClientRSSPerSocket is the generator's own memory per socket.
	ClientRSSPerSocket float64 `json:"clientRssPerSocketBytes"`
	// ServerCPUCoresHolding is server CPU while holding idle sockets (pings,
	// presence heartbeats).
	ServerCPUCoresHolding float64          `json:"serverCpuCoresHolding"`
	Errors                map[string]int64 `json:"errors,omitempty"`
}
