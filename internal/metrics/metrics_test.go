package metrics_test

import (
	"sort"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil/promlint"
	dto "github.com/prometheus/client_model/go"
	crmetrics "sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/audicia/audicia/internal/metrics"
)

// touch creates one series of every collector for source.
func touch(source string) {
	metrics.WebhookRequests.WithLabelValues(source, "200").Inc()
	metrics.WebhookEvents.WithLabelValues(source).Add(3)
	metrics.WebhookRejectedBatches.WithLabelValues(source, metrics.ReasonBusy).Inc()
	metrics.WebhookRequestDuration.WithLabelValues(source).Observe(0.01)
	metrics.WebhookTLSHandshakeErrors.WithLabelValues(source).Inc()
	metrics.EventsReceived.WithLabelValues(source).Inc()
	metrics.EventsProcessed.WithLabelValues(source).Inc()
	metrics.EventsFiltered.WithLabelValues(source).Inc()
	metrics.EventsMalformed.WithLabelValues(source).Inc()
	metrics.EventsDropped.WithLabelValues(source).Inc()
	metrics.ReportWrites.WithLabelValues(source, metrics.ResultUpdated).Inc()
	metrics.Subjects.WithLabelValues(source).Set(7)
	metrics.FileRotations.WithLabelValues(source).Inc()
}

// seriesOf returns the names of the families on controller-runtime's registry
// that hold a series labelled source.
func seriesOf(t *testing.T, source string) []string {
	t.Helper()
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range families {
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == metrics.LabelSource && l.GetValue() == source {
					names = append(names, f.GetName())
				}
			}
		}
	}
	sort.Strings(names)
	return names
}

func webhookEvents(t *testing.T, source string) float64 {
	t.Helper()
	var m dto.Metric
	if err := metrics.WebhookEvents.WithLabelValues(source).(prometheus.Metric).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}

func TestRegisteredOnControllerRuntimeRegistry(t *testing.T) {
	before := webhookEvents(t, "reg")
	touch("reg")
	want := []string{
		"audicia_events_dropped_total",
		"audicia_events_filtered_total",
		"audicia_events_malformed_total",
		"audicia_events_processed_total",
		"audicia_events_received_total",
		"audicia_file_rotations_total",
		"audicia_report_writes_total",
		"audicia_subjects",
		"audicia_webhook_events_total",
		"audicia_webhook_rejected_batches_total",
		"audicia_webhook_request_duration_seconds",
		"audicia_webhook_requests_total",
		"audicia_webhook_tls_handshake_errors_total",
	}
	if got := seriesOf(t, "reg"); strings.Join(got, ",") != strings.Join(want, ",") {
		t.Fatalf("families with source=reg:\n got %v\nwant %v", got, want)
	}
	if v := webhookEvents(t, "reg") - before; v != 3 {
		t.Fatalf("webhook events grew by %v, want 3", v)
	}
}

func TestNamesPassPromlint(t *testing.T) {
	touch("lint")
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	var ours []*dto.MetricFamily
	for _, f := range families {
		if strings.HasPrefix(f.GetName(), "audicia_") {
			ours = append(ours, f)
		}
	}
	if len(ours) != 13 {
		t.Fatalf("%d audicia_ families, want 13", len(ours))
	}
	problems, err := promlint.NewWithMetricFamilies(ours).Lint()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Errorf("%s: %s", p.Metric, p.Text)
	}
}

func TestNoUnboundedLabels(t *testing.T) {
	families, err := crmetrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	allowed := map[string]bool{metrics.LabelSource: true, metrics.LabelCode: true, metrics.LabelReason: true, metrics.LabelResult: true}
	for _, f := range families {
		if !strings.HasPrefix(f.GetName(), "audicia_") {
			continue
		}
		for _, m := range f.GetMetric() {
			for _, l := range m.GetLabel() {
				if !allowed[l.GetName()] {
					t.Errorf("%s has label %q outside the bounded set", f.GetName(), l.GetName())
				}
			}
		}
	}
}

func TestDeleteSource(t *testing.T) {
	touch("gone")
	touch("kept")
	metrics.DeleteSource("gone")
	if got := seriesOf(t, "gone"); len(got) != 0 {
		t.Fatalf("series left for a deleted source: %v", got)
	}
	if got := seriesOf(t, "kept"); len(got) != 13 {
		t.Fatalf("another source lost series: %v", got)
	}
}
