// Package metrics holds the host's Prometheus instruments in one
// explicitly constructed registry (no global default registry), so tests
// can build as many hosts as they like and /metrics shows only STC's own
// series plus the Go and process collectors.
package metrics

import (
	"net/http"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics are the host's instruments.
type Metrics struct {
	reg *prometheus.Registry

	// CandlesIngested counts candles written to the store, by broker.
	CandlesIngested *prometheus.CounterVec
	// CandlesDuplicate counts candles skipped because the store had them.
	CandlesDuplicate *prometheus.CounterVec
	// CandlesRejected counts invalid candles dropped before the store.
	CandlesRejected *prometheus.CounterVec
	// UpstreamSubscriptions is the number of live broker subscriptions.
	UpstreamSubscriptions prometheus.Gauge
	// CacheRequests counts candle/symbol cache lookups by cache and result
	// ("hit" or "miss"); the hit ratio is hit / (hit + miss).
	CacheRequests *prometheus.CounterVec
	// CandleFetches counts what history requests did beyond the cache by
	// result: "fetched" from a broker, "coalesced" into another request's
	// fetch, or refused by the market-data budget ("refused_span",
	// "refused_client", "refused_anonymous", "refused_host").
	CandleFetches *prometheus.CounterVec
	// PluginRestarts counts plugin process restarts by kind and name.
	PluginRestarts *prometheus.CounterVec
	// PluginEvents counts plugin lifecycle events by type.
	PluginEvents *prometheus.CounterVec
	// HTTPDuration observes request latency by route template, method and
	// status code.
	HTTPDuration *prometheus.HistogramVec
	// StreamsOpen is the number of open event streams (GET /api/v2/stream).
	StreamsOpen prometheus.Gauge
	// StreamEvents counts events sent on event streams by kind (trade,
	// bot, account, candle, reset).
	StreamEvents *prometheus.CounterVec
}

// New builds the instruments in a fresh registry.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		CandlesIngested: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stc_candles_ingested_total", Help: "Candles written to the store.",
		}, []string{"broker"}),
		CandlesDuplicate: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stc_candles_duplicate_total", Help: "Candles skipped because the store already had them.",
		}, []string{"broker"}),
		CandlesRejected: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stc_candles_rejected_total", Help: "Invalid candles dropped before the store.",
		}, []string{"broker"}),
		UpstreamSubscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stc_upstream_subscriptions", Help: "Live broker candle subscriptions (one per broker, symbol and timeframe).",
		}),
		CacheRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stc_cache_requests_total", Help: "Cache lookups by cache and result (hit or miss).",
		}, []string{"cache", "result"}),
		CandleFetches: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stc_candle_fetches_total", Help: "History requests' broker fetches: fetched, coalesced, or refused by the market-data budget.",
		}, []string{"result"}),
		PluginRestarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stc_plugin_restarts_total", Help: "Plugin process restarts.",
		}, []string{"kind", "name"}),
		PluginEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stc_plugin_events_total", Help: "Plugin lifecycle events.",
		}, []string{"type"}),
		HTTPDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "stc_http_request_duration_seconds",
			Help:    "HTTP request latency by route template.",
			Buckets: []float64{0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5},
		}, []string{"route", "method", "code"}),
		StreamsOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "stc_streams_open", Help: "Open event streams (GET /api/v2/stream).",
		}),
		StreamEvents: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "stc_stream_events_total", Help: "Events sent on event streams, by kind.",
		}, []string{"kind"}),
	}
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.CandlesIngested, m.CandlesDuplicate, m.CandlesRejected, m.UpstreamSubscriptions,
		m.CacheRequests, m.CandleFetches, m.PluginRestarts, m.PluginEvents, m.HTTPDuration,
		m.StreamsOpen, m.StreamEvents,
	)
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{Registry: m.reg})
}

// Registry exposes the registry, for tests that gather values.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }
