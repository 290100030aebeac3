// Package metrics serves userd's metrics in the Prometheus text format. It
// is the one package that knows Prometheus: the features and the platform
// packages count in plain numbers (atomic counters, Stats and Counts
// methods), and a collector reads them when /metrics is scraped. The jobs'
// numbers come from the jobs table at each scrape, in one query.
package metrics

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/userd/userd/internal/feature/auth"
	"github.com/userd/userd/internal/feature/jobs"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/mail"
	"github.com/userd/userd/internal/platform/memo"
	"github.com/userd/userd/internal/platform/password"
	"github.com/userd/userd/internal/platform/sqldb"
)

// Sources are what the metrics are read from. Any may be nil (or empty):
// its metrics are left out.
type Sources struct {
	DB       *sqldb.DB
	Hasher   *password.Hasher
	Auth     *auth.Service
	Mail     *mail.Counted
	Webhooks *webhook.Sender
	// Streams are the hubs that feed open event streams, by the stream's
	// name ("notifications", "changes").
	Streams map[string]*notify.Hub
	// Caches returns the counts of the process's caches by name
	// (web.Server.CacheStats).
	Caches func() map[string]memo.Stats
	// Log receives the errors of a scrape (a failed jobs query).
	Log *slog.Logger
}

// Metrics holds userd's metrics in a registry of their own.
type Metrics struct {
	reg      *prometheus.Registry
	requests *requests
}

// scrapeTimeout bounds the jobs query of one scrape.
const scrapeTimeout = 5 * time.Second

// New returns the metrics of src, with Go's runtime and the process's
// metrics.
func New(src Sources) *Metrics {
	if src.Log == nil {
		src.Log = slog.Default()
	}
	m := &Metrics{reg: prometheus.NewRegistry(), requests: newRequests()}
	m.reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.requests.count, m.requests.duration, &collector{src: src})
	return m
}

// Handler serves the metrics in the Prometheus text format (or the
// protobuf format, when the scraper asks for it). A source that fails leaves its metrics out
// of the page, which is still served.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{ErrorHandling: promhttp.ContinueOnError})
}

// ObserveRequest counts and times a request that the API served
// (web.RequestObserver): its method, the pattern of the route that served
// it (such as "GET /v1/me"; empty when none did), its status and its
// duration.
func (m *Metrics) ObserveRequest(method, pattern string, status int, took time.Duration) {
	m.requests.observe(method, pattern, status, took)
}

// desc is shorthand for a metric's description.
func desc(name, help string, labels ...string) *prometheus.Desc {
	return prometheus.NewDesc(name, help, labels, nil)
}

// The metrics that collector reads at each scrape.
var (
	loginsDesc  = desc("userd_logins_total", "Log-ins with a password, by outcome.", "outcome")
	secondsDesc = desc("userd_second_factor_logins_total", "Second factors (a TOTP or recovery code) given to finish a log-in, by outcome.", "outcome")
	signupsDesc = desc("userd_signups_total", "Sign-ups, by outcome.", "outcome")

	hashRunningDesc = desc("userd_password_hashes_running", "Password hashes and verifications running now.")
	hashQueuedDesc  = desc("userd_password_hashes_queued", "Password hashes and verifications waiting for a free slot.")

	dbOpenDesc    = desc("userd_db_connections_open", "Open connections of the pool (SQLite: write and read; PostgreSQL: shared).", "pool")
	dbInUseDesc   = desc("userd_db_connections_in_use", "Connections of the pool in use now.", "pool")
	dbIdleDesc    = desc("userd_db_connections_idle", "Idle connections of the pool.", "pool")
	dbMaxDesc     = desc("userd_db_connections_max", "The most connections the pool opens.", "pool")
	dbWaitsDesc   = desc("userd_db_connection_waits_total", "Times a transaction waited for a connection of the pool.", "pool")
	dbWaitedDesc  = desc("userd_db_connection_wait_seconds_total", "Time transactions waited for a connection of the pool.", "pool")
	dbRetriesDesc = desc("userd_db_transaction_retries_total",
		"Transactions run again after a serialization failure or a deadlock (PostgreSQL; SQLite's one writer has none).")
	replicaReadsDesc = desc("userd_db_replica_reads_total",
		"Read-only transactions run while replicas are configured (--replica-url), by where: replica, or primary when every replica was behind the primary's last write or down.", "on")
	listenDesc = desc("userd_db_listen_connected",
		"1 while the PostgreSQL LISTEN connection of the channel is up, 0 while it reconnects (absent on SQLite, which has none).", "channel")

	jobsWaitingDesc  = desc("userd_jobs_waiting", "Jobs that wait to run (due, retrying or scheduled later), by kind.", "kind")
	jobsRunningDesc  = desc("userd_jobs_running", "Jobs that a worker of any process holds now, by kind.", "kind")
	jobsRetryingDesc = desc("userd_jobs_retrying", "Waiting jobs whose last attempt failed, by kind.", "kind")
	jobsFailedDesc   = desc("userd_jobs_failed", "Jobs that ended with their last attempt failed, kept 30 days, by kind.", "kind")
	jobsOldestDesc   = desc("userd_jobs_oldest_due_age_seconds", "How long the oldest due job that no worker holds has been due; 0 when none is.")

	webhooksDesc = desc("userd_webhook_deliveries_total", "Webhook delivery attempts, by outcome.", "outcome")
	mailDesc     = desc("userd_mail_deliveries_total", "Mails handed to the mail server (or the log), by outcome.", "outcome")

	cacheHitsDesc        = desc("userd_cache_hits_total", "Reads answered from the cache, by cache.", "cache")
	cacheMissesDesc      = desc("userd_cache_misses_total", "Reads the cache could not answer, by cache.", "cache")
	cacheInvalidatedDesc = desc("userd_cache_invalidated_total",
		"Entries dropped because a change invalidated them, or because invalidations may have been missed, by cache.", "cache")
	cacheEntriesDesc = desc("userd_cache_entries", "Entries the cache holds now, by cache.", "cache")

	streamsDesc = desc("userd_sse_streams_open", "Event streams open now, by stream.", "stream")
)

// collector reads the sources at each scrape.
type collector struct{ src Sources }

// Describe sends the descriptions of every metric collector may send.
func (c *collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{loginsDesc, secondsDesc, signupsDesc, hashRunningDesc, hashQueuedDesc,
		dbOpenDesc, dbInUseDesc, dbIdleDesc, dbMaxDesc, dbWaitsDesc, dbWaitedDesc, dbRetriesDesc, replicaReadsDesc, listenDesc,
		jobsWaitingDesc, jobsRunningDesc, jobsRetryingDesc, jobsFailedDesc, jobsOldestDesc,
		webhooksDesc, mailDesc, cacheHitsDesc, cacheMissesDesc, cacheInvalidatedDesc, cacheEntriesDesc, streamsDesc} {
		ch <- d
	}
}

// Collect reads every source.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	s := c.src
	if s.Auth != nil {
		n := s.Auth.Counts()
		for name, v := range n.Logins {
			ch <- counter(loginsDesc, v, name)
		}
		for name, v := range n.SecondFactors {
			ch <- counter(secondsDesc, v, name)
		}
		for name, v := range n.Signups {
			ch <- counter(signupsDesc, v, name)
		}
	}
	if s.Hasher != nil {
		running, queued := s.Hasher.Load()
		ch <- gauge(hashRunningDesc, float64(running))
		ch <- gauge(hashQueuedDesc, float64(queued))
	}
	if s.DB != nil {
		c.database(ch)
	}
	if s.Webhooks != nil {
		n := s.Webhooks.Counts()
		for i, name := range webhook.OutcomeNames {
			ch <- counter(webhooksDesc, n[i], name)
		}
	}
	if s.Mail != nil {
		sent, failed := s.Mail.Counts()
		ch <- counter(mailDesc, sent, "sent")
		ch <- counter(mailDesc, failed, "failed")
	}
	if s.Caches != nil {
		for name, st := range s.Caches() {
			ch <- counter(cacheHitsDesc, st.Hits, name)
			ch <- counter(cacheMissesDesc, st.Misses, name)
			ch <- counter(cacheInvalidatedDesc, st.Invalidated, name)
			ch <- gauge(cacheEntriesDesc, float64(st.Entries), name)
		}
	}
	for name, hub := range s.Streams {
		ch <- gauge(streamsDesc, float64(hub.Subscribers()), name)
	}
}

// database sends the pools', retries', listening connections' and jobs'
// metrics.
func (c *collector) database(ch chan<- prometheus.Metric) {
	db := c.src.DB
	for _, p := range db.Pools() {
		ch <- gauge(dbOpenDesc, float64(p.OpenConnections), p.Name)
		ch <- gauge(dbInUseDesc, float64(p.InUse), p.Name)
		ch <- gauge(dbIdleDesc, float64(p.Idle), p.Name)
		ch <- gauge(dbMaxDesc, float64(p.MaxOpenConnections), p.Name)
		ch <- counter(dbWaitsDesc, uint64(p.WaitCount), p.Name)
		ch <- prometheus.MustNewConstMetric(dbWaitedDesc, prometheus.CounterValue, p.WaitDuration.Seconds(), p.Name)
	}
	ch <- counter(dbRetriesDesc, db.Retries())
	if replica, primary := db.ReplicaReads(); replica+primary > 0 {
		ch <- counter(replicaReadsDesc, uint64(replica), "replica")
		ch <- counter(replicaReadsDesc, uint64(primary), "primary")
	}
	for channel, up := range db.Listening() {
		ch <- gauge(listenDesc, float64(min(up, 1)), channel)
	}
	ctx, cancel := context.WithTimeout(sqldb.System(context.Background()), scrapeTimeout)
	defer cancel()
	var kinds []jobs.KindCounts
	var oldest time.Duration
	err := db.View(ctx, func(tx *sqldb.Tx) (err error) {
		kinds, oldest, err = jobs.Counts(ctx, tx)
		return err
	})
	if err != nil {
		c.src.Log.Error("metrics: read the jobs", "err", err)
		ch <- prometheus.NewInvalidMetric(jobsWaitingDesc, err)
		return
	}
	for _, k := range kinds {
		ch <- gauge(jobsWaitingDesc, float64(k.Waiting), k.Kind)
		ch <- gauge(jobsRunningDesc, float64(k.Running), k.Kind)
		ch <- gauge(jobsRetryingDesc, float64(k.Retrying), k.Kind)
		ch <- gauge(jobsFailedDesc, float64(k.Failed), k.Kind)
	}
	ch <- gauge(jobsOldestDesc, oldest.Seconds())
}

func counter(d *prometheus.Desc, v uint64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.CounterValue, float64(v), labels...)
}

func gauge(d *prometheus.Desc, v float64, labels ...string) prometheus.Metric {
	return prometheus.MustNewConstMetric(d, prometheus.GaugeValue, v, labels...)
}
