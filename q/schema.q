/ Vitals on kdb+: the schema.
/ Three sample tables (cpu, ram, disc), the instances table and the batch ids
/ that make ingest idempotent. Every table is keyed by the hashed instance id,
/ a guid (the first 16 bytes of HMAC-SHA256(server secret, token)). Never a
/ symbol: symbols are interned for the life of the process, instance ids are
/ not few and are erased daily.
/ Timestamps are kdb+ timestamps (UTC); the Warsaw day bounds are computed in
/ Rust with chrono-tz and passed in, so q needs no time-zone logic.

cpu:([]
  instance_id:`guid$();
  ts:`timestamp$();
  usage_pct:`float$();          / 0-100, all cores
  cores_pct:();                 / one float vector per row, one value per logical core
  load1:`float$())              / one-minute load; 0n where the OS has none

ram:([]
  instance_id:`guid$();
  ts:`timestamp$();
  used_bytes:`long$();
  total_bytes:`long$();
  swap_used_bytes:`long$();
  swap_total_bytes:`long$())

disc:([]
  instance_id:`guid$();
  ts:`timestamp$();
  mount:`symbol$();             / mounts are few per machine: symbols are fine
  used_bytes:`long$();
  total_bytes:`long$();
  read_bps:`float$();
  write_bps:`float$())

instances:([instance_id:`guid$()]
  consent_at:`timestamp$();
  policy_version:`symbol$();
  quota_day:`date$();           / the Warsaw day the row counters count
  cpu_rows:`long$();
  ram_rows:`long$();
  disc_rows:`long$())

batches:([]
  instance_id:`guid$();
  batch_id:`guid$();
  day:`date$())

/ The grouped attribute makes per-instance reads an index lookup. Deletes and
/ clears drop it, so every function that deletes calls this afterwards.
.vitals.applyAttr:{[]
  {@[x;`instance_id;`g#]} each `cpu`ram`disc`batches;
  }

.vitals.applyAttr[]
