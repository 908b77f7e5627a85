//! OpenTelemetry: the OTLP/HTTP receiver's mapping of semantic-convention
//! host metrics into example samples, and the SDK exporter (the real
//! `opentelemetry-otlp` one) that sends this server's own host metrics to
//! its own receiver.
//!
//! Mapped (<https://opentelemetry.io/docs/specs/semconv/system/system-metrics/>):
//! `system.cpu.utilization` (1 − idle share when points carry a mode,
//! else the value), `system.memory.utilization` / `system.memory.usage`
//! (the `used` state's share), `system.filesystem.utilization` /
//! `system.filesystem.usage` (per mount point). Values are fractions
//! (0–1) and are shown as percent. Other metrics are ignored; points of
//! these metrics that are not finite or out of range are rejected and
//! counted in the OTLP partial-success answer.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use opentelemetry::KeyValue;
use opentelemetry::metrics::MeterProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_proto::tonic::collector::metrics::v1::ExportMetricsServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue as PKeyValue, any_value};
use opentelemetry_proto::tonic::metrics::v1::{NumberDataPoint, metric, number_data_point};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::metrics::{PeriodicReader, SdkMeterProvider};
use vitals_shared::wire::DemoSample;

use super::host::SharedHost;
use super::sample;

fn text(v: &Option<AnyValue>) -> Option<&str> {
    match v.as_ref()?.value.as_ref()? {
        any_value::Value::StringValue(s) => Some(s),
        _ => None,
    }
}

fn attr<'a>(attrs: &'a [PKeyValue], keys: &[&str]) -> Option<&'a str> {
    attrs
        .iter()
        .find(|kv| keys.contains(&kv.key.as_str()))
        .and_then(|kv| text(&kv.value))
}

fn number(p: &NumberDataPoint) -> Option<f64> {
    match p.value? {
        number_data_point::Value::AsDouble(v) => Some(v),
        number_data_point::Value::AsInt(v) => Some(v as f64),
    }
}

const MODE: &[&str] = &["cpu.mode", "system.cpu.state", "state"];
const MEM_STATE: &[&str] = &["system.memory.state", "state"];
const FS_STATE: &[&str] = &["system.filesystem.state", "state"];
const MOUNT: &[&str] = &["system.filesystem.mountpoint", "mountpoint"];

/// What one OTLP request yields.
#[derive(Debug, Default)]
pub struct Mapped {
    /// Samples for the stream.
    pub samples: Vec<DemoSample>,
    /// Points of mapped metrics that could not be used.
    pub rejected: i64,
    /// Why (the first reason), for the partial-success answer.
    pub reason: Option<String>,
}

/// Maps a request. `self_instance` is this process's
/// `service.instance.id`: resources carrying it are labelled `self`,
/// others `otlp://CLIENT` (the pusher's address).
pub fn map_request(
    req: &ExportMetricsServiceRequest,
    self_instance: &str,
    client: &str,
    now_ms: i64,
) -> Mapped {
    let mut out = Mapped::default();
    let reject = |out: &mut Mapped, why: String| {
        out.rejected += 1;
        out.reason.get_or_insert(why);
    };
    for rm in &req.resource_metrics {
        let res_attrs = rm
            .resource
            .as_ref()
            .map(|r| r.attributes.as_slice())
            .unwrap_or(&[]);
        let origin = if attr(res_attrs, &["service.instance.id"]) == Some(self_instance) {
            "self".to_owned()
        } else {
            format!("otlp://{client}")
        };
        for sm in &rm.scope_metrics {
            for m in &sm.metrics {
                let points: &[NumberDataPoint] = match &m.data {
                    Some(metric::Data::Gauge(g)) => &g.data_points,
                    Some(metric::Data::Sum(s)) => &s.data_points,
                    _ => continue,
                };
                let name = m.name.as_str();
                let is_util = name.ends_with(".utilization");
                let kind = match name {
                    "system.cpu.utilization" => "cpu",
                    "system.memory.utilization" | "system.memory.usage" => "ram",
                    "system.filesystem.utilization" | "system.filesystem.usage" => "disc",
                    _ => continue,
                };
                // (value, attributes, ts) of the usable points.
                let mut good = Vec::new();
                for p in points {
                    match number(p) {
                        Some(v) if v.is_finite() && v >= 0.0 && (!is_util || v <= 1.0) => {
                            let ts = if p.time_unix_nano == 0 {
                                now_ms
                            } else {
                                (p.time_unix_nano / 1_000_000) as i64
                            };
                            good.push((v, p.attributes.as_slice(), ts));
                        }
                        Some(v) => reject(
                            &mut out,
                            format!(
                                "{name}: value {v} is not a usable {}",
                                if is_util { "fraction (0-1)" } else { "count" }
                            ),
                        ),
                        None => reject(&mut out, format!("{name}: a data point without a value")),
                    }
                }
                if good.is_empty() {
                    continue;
                }
                let ts = good.iter().map(|g| g.2).max().unwrap_or(now_ms);
                match kind {
                    "cpu" => {
                        let moded = good.iter().any(|g| attr(g.1, MODE).is_some());
                        let pct = if moded {
                            let all: f64 = good.iter().map(|g| g.0).sum();
                            let idle: f64 = good
                                .iter()
                                .filter(|g| attr(g.1, MODE) == Some("idle"))
                                .map(|g| g.0)
                                .sum();
                            (all > 0.0).then(|| 100.0 * (1.0 - idle / all))
                        } else {
                            Some(100.0 * good.iter().map(|g| g.0).sum::<f64>() / good.len() as f64)
                        };
                        if let Some(p) = pct {
                            out.samples
                                .push(sample("otel", "cpu", ts, p, &origin, None));
                        }
                    }
                    "ram" => {
                        if let Some(p) = used_share(&good, MEM_STATE, is_util) {
                            out.samples
                                .push(sample("otel", "ram", ts, p, &origin, None));
                        }
                    }
                    _ => {
                        let mut by_mount: BTreeMap<&str, Vec<_>> = BTreeMap::new();
                        for g in &good {
                            match attr(g.1, MOUNT) {
                                Some(m) => by_mount.entry(m).or_default().push(*g),
                                None => reject(
                                    &mut out,
                                    format!("{name}: a point without a mount point attribute"),
                                ),
                            }
                        }
                        for (mount, pts) in by_mount {
                            if let Some(p) = used_share(&pts, FS_STATE, is_util) {
                                out.samples.push(sample(
                                    "otel",
                                    "disc",
                                    ts,
                                    p,
                                    &origin,
                                    Some(mount),
                                ));
                            }
                        }
                    }
                }
            }
        }
    }
    out
}

type Point<'a> = (f64, &'a [PKeyValue], i64);

/// Used percent: utilization of the `used` state (or the only value), or
/// for usage metrics the `used` state's share of all states.
fn used_share(points: &[Point<'_>], state_keys: &[&str], is_util: bool) -> Option<f64> {
    let used: f64 = points
        .iter()
        .filter(|p| attr(p.1, state_keys).is_none_or(|s| s == "used"))
        .map(|p| p.0)
        .sum();
    if is_util {
        return Some(100.0 * used);
    }
    let all: f64 = points.iter().map(|p| p.0).sum();
    (all > 0.0).then(|| 100.0 * used / all)
}

// ---- the SDK exporter of our own host metrics -------------------------------

/// `opentelemetry-http`'s client trait over the workspace's reqwest. The
/// SDK's periodic reader runs on its own thread, so each request is handed
/// to the server's tokio runtime.
#[derive(Debug)]
struct ReqwestOnTokio {
    http: reqwest::Client,
    rt: tokio::runtime::Handle,
}

#[async_trait::async_trait]
impl opentelemetry_http::HttpClient for ReqwestOnTokio {
    async fn send_bytes(
        &self,
        request: http::Request<Bytes>,
    ) -> Result<http::Response<Bytes>, opentelemetry_http::HttpError> {
        let http = self.http.clone();
        let task = self.rt.spawn(async move {
            let (parts, body) = request.into_parts();
            let r = http
                .request(parts.method, parts.uri.to_string())
                .headers(parts.headers)
                .body(body)
                .send()
                .await?;
            let status = r.status();
            let headers = r.headers().clone();
            let bytes = r.bytes().await?;
            Ok::<_, reqwest::Error>((status, headers, bytes))
        });
        let (status, headers, bytes) = task.await??;
        let mut resp = http::Response::builder().status(status).body(bytes)?;
        *resp.headers_mut() = headers;
        Ok(resp)
    }
}

/// Starts exporting this host's metrics every second to `endpoint`
/// (our own `POST /v1/metrics`). The provider must be kept alive.
pub fn start_self_export(
    endpoint: String,
    http: reqwest::Client,
    host: SharedHost,
    self_instance: &str,
) -> Result<SdkMeterProvider, String> {
    let exporter = opentelemetry_otlp::MetricExporter::builder()
        .with_http()
        .with_http_client(ReqwestOnTokio {
            http,
            rt: tokio::runtime::Handle::current(),
        })
        .with_endpoint(endpoint)
        .with_protocol(Protocol::HttpBinary)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| format!("cannot build the OTLP exporter: {e}"))?;
    let reader = PeriodicReader::builder(exporter)
        .with_interval(Duration::from_secs(1))
        .build();
    let resource = Resource::builder()
        .with_service_name("vitals-server")
        .with_attribute(KeyValue::new(
            "service.instance.id",
            self_instance.to_owned(),
        ))
        .build();
    let provider = SdkMeterProvider::builder()
        .with_reader(reader)
        .with_resource(resource)
        .build();
    let meter = provider.meter("vitals-server");
    let h = host.clone();
    let _cpu = meter
        .f64_observable_gauge("system.cpu.utilization")
        .with_unit("1")
        .with_callback(move |o| {
            if let Some(b) = h.lock().ok().and_then(|s| s.cpu_busy_pct) {
                o.observe(b / 100.0, &[]);
            }
        })
        .build();
    let h = host.clone();
    let _mem = meter
        .f64_observable_gauge("system.memory.utilization")
        .with_unit("1")
        .with_callback(move |o| {
            if let Ok(s) = h.lock()
                && s.mem_total > 0
            {
                let used = 1.0 - s.mem_available as f64 / s.mem_total as f64;
                o.observe(used, &[KeyValue::new("system.memory.state", "used")]);
            }
        })
        .build();
    let h = host;
    let _fs = meter
        .f64_observable_gauge("system.filesystem.utilization")
        .with_unit("1")
        .with_callback(move |o| {
            if let Ok(s) = h.lock() {
                for (m, avail, size) in &s.filesystems {
                    if *size > 0 {
                        o.observe(
                            1.0 - *avail as f64 / *size as f64,
                            &[KeyValue::new("system.filesystem.mountpoint", m.clone())],
                        );
                    }
                }
            }
        })
        .build();
    Ok(provider)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::metrics::v1::{Gauge, Metric, ResourceMetrics, ScopeMetrics};
    use opentelemetry_proto::tonic::resource::v1::Resource as PResource;

    fn kv(k: &str, v: &str) -> PKeyValue {
        PKeyValue {
            key: k.into(),
            value: Some(AnyValue {
                value: Some(any_value::Value::StringValue(v.into())),
            }),
        }
    }

    fn point(v: f64, attrs: Vec<PKeyValue>) -> NumberDataPoint {
        NumberDataPoint {
            attributes: attrs,
            time_unix_nano: 1_796_382_000_000_000_000,
            value: Some(number_data_point::Value::AsDouble(v)),
            ..Default::default()
        }
    }

    fn gauge(name: &str, points: Vec<NumberDataPoint>) -> Metric {
        Metric {
            name: name.into(),
            data: Some(metric::Data::Gauge(Gauge {
                data_points: points,
            })),
            ..Default::default()
        }
    }

    fn request(instance: &str, metrics: Vec<Metric>) -> ExportMetricsServiceRequest {
        ExportMetricsServiceRequest {
            resource_metrics: vec![ResourceMetrics {
                resource: Some(PResource {
                    attributes: vec![kv("service.instance.id", instance)],
                    ..Default::default()
                }),
                scope_metrics: vec![ScopeMetrics {
                    metrics,
                    ..Default::default()
                }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn semantic_conventions_map_to_percent() {
        let req = request(
            "me",
            vec![
                gauge(
                    "system.cpu.utilization",
                    vec![
                        point(0.75, vec![kv("cpu.mode", "idle")]),
                        point(0.25, vec![kv("cpu.mode", "user")]),
                    ],
                ),
                gauge(
                    "system.memory.utilization",
                    vec![point(0.5, vec![kv("system.memory.state", "used")])],
                ),
                gauge(
                    "system.filesystem.utilization",
                    vec![point(0.1, vec![kv("system.filesystem.mountpoint", "/")])],
                ),
                gauge("process.cpu.time", vec![point(5.0, vec![])]),
            ],
        );
        let m = map_request(&req, "me", "127.0.0.1", 0);
        assert_eq!(m.rejected, 0);
        let got: Vec<_> = m
            .samples
            .iter()
            .map(|s| (s.metric.as_str(), s.value))
            .collect();
        assert_eq!(got, vec![("cpu", 25.0), ("ram", 50.0), ("disc", 10.0)]);
        assert!(m.samples.iter().all(|s| s.labels["origin"] == "self"));
        assert_eq!(m.samples[2].labels["mount"], "/");
        assert_eq!(m.samples[0].ts, 1_796_382_000_000);
    }

    #[test]
    fn unusable_points_are_counted_and_others_kept() {
        let req = request(
            "someone",
            vec![gauge(
                "system.memory.utilization",
                vec![
                    point(f64::NAN, vec![]),
                    point(7.0, vec![]),
                    point(0.5, vec![]),
                ],
            )],
        );
        let m = map_request(&req, "me", "10.0.0.9", 0);
        assert_eq!(m.rejected, 2);
        assert!(m.reason.unwrap().contains("system.memory.utilization"));
        assert_eq!(m.samples.len(), 1);
        assert_eq!(m.samples[0].labels["origin"], "otlp://10.0.0.9");
    }
}
