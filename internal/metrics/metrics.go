package metrics

import (
	"github.com/prometheus/client_golang/prometheus"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"
)

const namespace = "audicia"

// Label names. Values of LabelSource are AudiciaSource names.
const (
	LabelSource = "source"
	LabelCode   = "code"
	LabelReason = "reason"
	LabelResult = "result"
	// LabelSeverity values are the compliance severities Green, Yellow, Red.
	LabelSeverity = "severity"
)

// Report write results, the values of the `result` label of ReportWrites.
const (
	ResultCreated   = "created"
	ResultUpdated   = "updated"
	ResultUnchanged = "unchanged"
	ResultError     = "error"
)

// all lists every collector of the package, for registration and DeleteSource.
var all []prometheus.Collector

func counterVec(name, help string, labels ...string) *prometheus.CounterVec {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: namespace, Name: name, Help: help}, labels)
	all = append(all, c)
	return c
}

func gaugeVec(name, help string, labels ...string) *prometheus.GaugeVec {
	g := prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: namespace, Name: name, Help: help}, labels)
	all = append(all, g)
	return g
}

func histogramVec(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
	h := prometheus.NewHistogramVec(prometheus.HistogramOpts{Namespace: namespace, Name: name, Help: help, Buckets: buckets}, labels)
	all = append(all, h)
	return h
}

func init() {
	crmetrics.Registry.MustRegister(all...)
}

// DeleteSource removes every series of the given source, for when an
// AudiciaSource is deleted, so its counters do not linger on /metrics.
func DeleteSource(source string) {
	match := prometheus.Labels{LabelSource: source}
	for _, c := range all {
		switch v := c.(type) {
		case *prometheus.CounterVec:
			v.DeletePartialMatch(match)
		case *prometheus.GaugeVec:
			v.DeletePartialMatch(match)
		case *prometheus.HistogramVec:
			v.DeletePartialMatch(match)
		}
	}
}
