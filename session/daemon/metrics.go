package daemon

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/uaaf/uaaf/tools/bench/procmem"
)

// metrics are the daemon's Prometheus metrics, on a registry of its own
// (GET /metrics). Counters and histograms are updated as sessions end;
// gauges (refcounts, pool, memory) are read at scrape time by collect.
type metrics struct {
	reg *prometheus.Registry

	start       *prometheus.HistogramVec // start phases, seconds
	invocations *prometheus.CounterVec   // by outcome
	sessions    *prometheus.CounterVec   // sessions ended, by state
	calls       *prometheus.CounterVec   // library calls, by library
	faults      *prometheus.CounterVec   // library calls that faulted or timed out, by library
	exits       prometheus.Counter       // VM exits of ended sessions (monitor's count)
	rejected    *prometheus.CounterVec   // requests refused by admission, by reason
}

// Start-latency buckets: 10 µs to ~5 s.
var startBuckets = prometheus.ExponentialBuckets(10e-6, 2, 20)

func newMetrics(d *Daemon) *metrics {
	m := &metrics{reg: prometheus.NewRegistry()}
	m.start = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "uaaf_session_start_seconds", Help: "Session start latency by phase: queued, bind, boot, and start (request accepted to the guest's first instruction).",
		Buckets: startBuckets}, []string{"phase"})
	m.invocations = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uaaf_invocations_total", Help: "Invocations (POST /v1/invoke) by outcome: ok, exit_nonzero, failed, killed, rejected."}, []string{"outcome"})
	m.sessions = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uaaf_sessions_ended_total", Help: "Sessions that ended, by final state."}, []string{"state"})
	m.calls = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uaaf_library_calls_total", Help: "Calls into library functions by ended sessions, by library."}, []string{"library"})
	m.faults = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uaaf_library_faults_total", Help: "Library calls that faulted or passed their deadline, by library."}, []string{"library"})
	m.exits = prometheus.NewCounter(prometheus.CounterOpts{
		Name: "uaaf_vm_exits_total", Help: "VM exits of ended sessions and their library instances, as the monitor counted them."})
	m.rejected = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "uaaf_rejected_total", Help: "Requests refused by admission: busy (429) or draining (503)."}, []string{"reason"})
	m.reg.MustRegister(m.start, m.invocations, m.sessions, m.calls, m.faults, m.exits, m.rejected,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		&gauges{d: d})
	return m
}

// handler serves the metrics in Prometheus text format.
func (m *metrics) handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// observeStart records a session's start phases.
func (m *metrics) observeStart(queued, bind, boot, start time.Duration) {
	m.start.WithLabelValues("queued").Observe(queued.Seconds())
	m.start.WithLabelValues("bind").Observe(bind.Seconds())
	m.start.WithLabelValues("boot").Observe(boot.Seconds())
	m.start.WithLabelValues("start").Observe(start.Seconds())
}

// gauges is the collector of what is read at scrape time.
type gauges struct{ d *Daemon }

var (
	descRefs      = prometheus.NewDesc("uaaf_library_refs", "Sessions referencing a library now.", []string{"library"}, nil)
	descLibMem    = prometheus.NewDesc("uaaf_library_memory_bytes", "Host memory of a library's pristine image (shared by its instances).", []string{"library"}, nil)
	descResident  = prometheus.NewDesc("uaaf_library_resident", "1 if the library is loaded, 0 if a keep-alive policy has it unloaded.", []string{"library"}, nil)
	descImgMem    = prometheus.NewDesc("uaaf_image_memory_bytes", "Host memory of a registered image's template (shared by its sessions).", []string{"image"}, nil)
	descLive      = prometheus.NewDesc("uaaf_sessions_live", "Sessions holding a VM (created or running).", nil, nil)
	descQueued    = prometheus.NewDesc("uaaf_sessions_queued", "Invocations waiting for admission.", nil, nil)
	descPoolReady = prometheus.NewDesc("uaaf_pool_ready", "VMs ready in the warm pool.", nil, nil)
	descPoolTgt   = prometheus.NewDesc("uaaf_pool_target", "VMs the warm pool keeps ready.", nil, nil)
	descPoolTake  = prometheus.NewDesc("uaaf_pool_takes_total", "VMs taken from the pool: hit (ready) or miss (created on the request path).", []string{"result"}, nil)
	descPss       = prometheus.NewDesc("uaaf_daemon_pss_bytes", "Proportional set size of the daemon process (its sessions and libraries included).", nil, nil)
	descKernExits = prometheus.NewDesc("uaaf_kvm_exits_total", "KVM exits to user space counted by the kernel (eBPF, host-wide); absent when eBPF is unavailable.", nil, nil)
)

func (g *gauges) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descRefs, descLibMem, descResident, descImgMem, descLive, descQueued,
		descPoolReady, descPoolTgt, descPoolTake, descPss, descKernExits} {
		ch <- d
	}
}

func (g *gauges) Collect(ch chan<- prometheus.Metric) {
	d := g.d
	for _, in := range d.reg.List() {
		ch <- prometheus.MustNewConstMetric(descRefs, prometheus.GaugeValue, float64(in.Refs), in.Name)
		resident, mem := 0.0, 0.0
		if in.Resident && in.Lib != nil {
			resident, mem = 1, float64(in.Lib.Resident())
		}
		ch <- prometheus.MustNewConstMetric(descResident, prometheus.GaugeValue, resident, in.Name)
		ch <- prometheus.MustNewConstMetric(descLibMem, prometheus.GaugeValue, mem, in.Name)
	}
	for _, im := range d.imageList() {
		ch <- prometheus.MustNewConstMetric(descImgMem, prometheus.GaugeValue, float64(im.Memory), im.Name)
	}
	live, queued := d.adm.counts()
	ch <- prometheus.MustNewConstMetric(descLive, prometheus.GaugeValue, float64(live))
	ch <- prometheus.MustNewConstMetric(descQueued, prometheus.GaugeValue, float64(queued))
	ch <- prometheus.MustNewConstMetric(descPoolReady, prometheus.GaugeValue, float64(d.pool.Ready()))
	ch <- prometheus.MustNewConstMetric(descPoolTgt, prometheus.GaugeValue, float64(d.pool.target.Load()))
	ch <- prometheus.MustNewConstMetric(descPoolTake, prometheus.CounterValue, float64(d.pool.hits.Load()), "hit")
	ch <- prometheus.MustNewConstMetric(descPoolTake, prometheus.CounterValue, float64(d.pool.misses.Load()), "miss")
	if r, err := procmem.ReadRollup(procmem.Self); err == nil {
		ch <- prometheus.MustNewConstMetric(descPss, prometheus.GaugeValue, float64(r.Pss))
	}
	if d.kernelExits != nil {
		if n, ok := d.kernelExits(); ok {
			ch <- prometheus.MustNewConstMetric(descKernExits, prometheus.CounterValue, float64(n))
		}
	}
}
