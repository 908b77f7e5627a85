/ Vitals on kdb+: the functions the Vitals server calls, and only these.
/ Load with:  q q/vitals.q -p 5010 -U q/users.example   (see docs/KDB.md)
/
/ Every function takes plain typed arguments (guids, timestamps, dates,
/ longs, tables of typed columns) and checks them; a failed check signals an
/ error, which reaches the server as a q error reply and becomes a typed
/ Rust error there. Nothing here knows about time zones: `lo`/`hi` are the
/ UTC bounds of the current Europe/Warsaw day and `day` its date, all computed
/ by the server with chrono-tz.

\d .vitals
dir:first ` vs hsym .z.f
\d .
system "l ",1_ string .Q.dd[.vitals.dir;`schema.q]

/ ---- argument checks --------------------------------------------------------

.vitals.need:{[ok;msg] if[not ok; 'msg]}
.vitals.isGuid:{-2h=type x}
.vitals.isTs:{-12h=type x}
.vitals.cols:{[t;want;name]
  / `want` is a dictionary column -> type char, e.g. `ts`usage_pct!"pf"
  .vitals.need[98h=type t; name,": expected a table"];
  have:exec c!t from meta t;
  bad:where not (key[want]#have)=value want;
  .vitals.need[0=count bad; name,": column ",(string first bad)," must be of type ",enlist want first bad];
  }
cpuCols:`instance_id`batch_id`ts`usage_pct`load1!"ggpff"
ramCols:`instance_id`batch_id`ts`used_bytes`total_bytes`swap_used_bytes`swap_total_bytes!"ggpjjjj"
discCols:`instance_id`batch_id`ts`mount`used_bytes`total_bytes`read_bps`write_bps!"ggpsjjff"

/ ---- instances -------------------------------------------------------------

/ Creates an instance unless `maxInstances` exist. Returns `ok or `limit.
.vitals.register:{[iid;consentAt;policy;maxInstances]
  .vitals.need[.vitals.isGuid iid; "register: instance id must be a guid"];
  .vitals.need[.vitals.isTs consentAt; "register: consent time must be a timestamp"];
  if[maxInstances<=count instances; :`limit];
  `instances upsert (iid;consentAt;`$policy;0Nd;0;0;0);
  `ok}

.vitals.exists:{[iid] iid in key[instances]`instance_id}

.vitals.instanceCount:{[] count instances}

/ ---- ingest ----------------------------------------------------------------

/ Stores a coalesced group of batches (from one or many instances) in one
/ call. `b` has one row per batch in arrival order: instance_id, batch_id,
/ ncpu, nram, ndisc. `c`, `r`, `d` hold the rows of all those batches with a
/ batch_id column saying which batch each row belongs to.
/ Each batch is judged on its own, in order: `unknown (no such instance),
/ `dup (batch id already stored: nothing stored again), `exists (one of its
/ rows has a timestamp already stored for that series: nothing of it stored;
/ tbl and ts name the first such row), `quota (one of its tables would pass
/ `limit` rows today: nothing of it stored) or `ok.
/ Returns a table: status, the instance's cpu/ram/disc rows today after that
/ batch (so every instance gets its own answer), tbl and ts.
.vitals.keyCols:`cpu`ram`disc!(`instance_id`ts;`instance_id`ts;`instance_id`mount`ts)
/ For each row of x (bound for table t): is its key already stored?
.vitals.stored:{[t;x]
  k:.vitals.keyCols t;
  (k#x) in k#select from (get t) where instance_id in distinct x`instance_id}
/ First timestamp of batch bid in x whose key is stored (s) or taken by a
/ batch accepted earlier in this call (ok); 0Np when none.
.vitals.clash:{[t;x;s;bid;ok]
  i:where bid=x`batch_id;
  if[0=count i; :0Np];
  k:.vitals.keyCols t;
  hit:s[i] or (k#x i) in k#select from x where batch_id in ok;
  $[any hit; first x[`ts] i where hit; 0Np]}
.vitals.ingest:{[day;limit;b;c;r;d]
  .vitals.need[-14h=type day; "ingest: day must be a date"];
  .vitals.need[-7h=type limit; "ingest: limit must be a long"];
  .vitals.cols[b;`instance_id`batch_id`ncpu`nram`ndisc!"ggjjj";"ingest batches"];
  .vitals.cols[c;.vitals.cpuCols;"ingest cpu"];
  .vitals.cols[r;.vitals.ramCols;"ingest ram"];
  .vitals.cols[d;.vitals.discCols;"ingest disc"];
  .vitals.need[all 9h=type each c`cores_pct; "ingest cpu: cores_pct must be float vectors"];
  / Today's counters per instance, zero where they count another day.
  inst:key[instances]`instance_id;
  cnt:{[day;iid] x:instances iid; $[day=x`quota_day; x`cpu_rows`ram_rows`disc_rows; 0 0 0]}[day] each inst;
  counts:inst!cnt;
  seen:exec batch_id by instance_id from batches;
  sc:.vitals.stored[`cpu;c]; sr:.vitals.stored[`ram;r]; sd:.vitals.stored[`disc;d];
  status:`symbol$(); after:(); tbl:`symbol$(); tss:`timestamp$();
  ok:`guid$();
  i:0;
  while[i<count b;
    x:b i;
    iid:x`instance_id;
    bid:x`batch_id;
    n:x`ncpu`nram`ndisc;
    cl:(.vitals.clash[`cpu;c;sc;bid;ok];.vitals.clash[`ram;r;sr;bid;ok];.vitals.clash[`disc;d;sd;bid;ok]);
    ci:first where not null cl;
    st:$[not iid in inst; `unknown;
      bid in (seen iid),ok; `dup;
      not null ci; `exists;
      any (n>0) & limit<counts[iid]+n; `quota;
      `ok];
    if[st=`ok; counts[iid]+:n; ok,:bid];
    status,:st;
    after,:enlist $[iid in inst; counts iid; 0 0 0];
    tbl,:$[st=`exists; `cpu`ram`disc ci; `];
    tss,:$[st=`exists; cl ci; 0Np];
    i+:1];
  / Insert the accepted batches' rows, then record their ids and counters.
  keep:{[ok;t] delete batch_id from select from t where batch_id in ok}[ok];
  `cpu insert keep c;
  `ram insert keep r;
  `disc insert keep d;
  acc:select from b where batch_id in ok;
  `batches insert ([] instance_id:acc`instance_id; batch_id:acc`batch_id; day:(count acc)#day);
  touched:distinct acc`instance_id;
  if[count touched;
    v:counts touched;
    `instances upsert ([instance_id:touched] consent_at:instances[touched;`consent_at];
      policy_version:instances[touched;`policy_version]; quota_day:(count touched)#day;
      cpu_rows:v[;0]; ram_rows:v[;1]; disc_rows:v[;2])];
  ([] status:status; cpu:`long$after[;0]; ram:`long$after[;1]; disc:`long$after[;2]; tbl:tbl; ts:tss)}

/ ---- reads (always clamped to [lo, hi): the current Warsaw day) ------------

.vitals.range:{[lo;hi;from;to] (lo|from;hi&to)}
.vitals.pct:{[used;total] ?[total>0; 100f*used%total; 0f]}

/ (ts; value) of one metric in [from, to) within the day, in time order.
/ metric: `cpu`ram`disc; mount: a symbol (ignored unless disc).
.vitals.series:{[iid;metric;mount;lo;hi;from;to]
  .vitals.need[.vitals.isGuid iid; "series: instance id must be a guid"];
  .vitals.need[metric in `cpu`ram`disc; "series: metric must be `cpu`ram`disc"];
  rg:.vitals.range[lo;hi;from;to];
  $[metric=`cpu;
      `ts xasc select ts, v:usage_pct from cpu where instance_id=iid, ts within (rg 0;rg[1]-1);
    metric=`ram;
      `ts xasc select ts, v:.vitals.pct[used_bytes;total_bytes] from ram where instance_id=iid, ts within (rg 0;rg[1]-1);
      `ts xasc select ts, v:.vitals.pct[used_bytes;total_bytes] from disc where instance_id=iid, mount=mount, ts within (rg 0;rg[1]-1)]}

/ Mounts with rows in the day, sorted.
.vitals.mounts:{[iid;lo;hi] asc exec distinct mount from disc where instance_id=iid, ts within (lo;hi-1)}

/ Today's raw rows of one table.
.vitals.dayRows:{[iid;metric;lo;hi]
  .vitals.need[metric in `cpu`ram`disc; "dayRows: metric must be `cpu`ram`disc"];
  t:get metric;
  `ts xasc delete instance_id from select from t where instance_id=iid, ts within (lo;hi-1)}

/ Nearest-rank 95th percentile, in integers so 0.95*20 is exactly rank 19.
.vitals.p95:{s:asc x; n:count s; s ((n*95+99) div 100)-1}
.vitals.summary:{[v]
  $[0=count v; `count`avg`median`min`max`p95!(0;0n;0n;0n;0n;0n);
    `count`avg`median`min`max`p95!(count v;avg v;med v;min v;max v;.vitals.p95 v)]}

/ Statistics of the day, overall and per upload session (a gap of more than
/ `gapMs` milliseconds between consecutive samples of any table starts one),
/ as one flat table so a client needs no knowledge of nested q shapes:
/ one row per (session, metric, mount); session -1 is the whole day, its
/ start/end the first and last sample. Columns: session start end metric
/ mount start end cnt mean mdn mn mx p95 (disc rows name their mount, others
/ the null symbol).
.vitals.statsEmpty:([] session:`long$(); metric:`symbol$(); mount:`symbol$();
  start:`timestamp$(); end:`timestamp$(); cnt:`long$(); mean:`float$(); mdn:`float$();
  mn:`float$(); mx:`float$(); p95:`float$())
.vitals.stats:{[iid;lo;hi;gapMs]
  .vitals.need[.vitals.isGuid iid; "stats: instance id must be a guid"];
  w:(lo;hi-1);
  c:select ts, metric:`cpu, mount:`, v:usage_pct from cpu where instance_id=iid, ts within w;
  r:select ts, metric:`ram, mount:`, v:.vitals.pct[used_bytes;total_bytes] from ram where instance_id=iid, ts within w;
  d:select ts, metric:`disc, mount, v:.vitals.pct[used_bytes;total_bytes] from disc where instance_id=iid, ts within w;
  x:c,r,d;
  all_ts:asc distinct x`ts;
  gap:`timespan$1000000*gapMs;
  / Indices where a session starts: the first sample, and each sample more
  / than `gap` after the one before. A session ends at its last sample.
  si:$[count all_ts; where 1b,gap<1_ deltas all_ts; `long$()];
  starts:all_ts si;
  ends:all_ts -1+1_ si,count all_ts;
  x:update session:starts bin ts from x;
  one:{[x;sess;s;e]
    0!select start:s, end:e, cnt:count v, mean:avg v, mdn:med v, mn:min v, mx:max v,
      p95:.vitals.p95 v by session:sess, metric, mount from x};
  whole:$[count x; one[x;-1;first all_ts;last all_ts]; .vitals.statsEmpty];
  per:raze {[one;x;s;e;i] one[select from x where session=i;i;s;e]}[one;x]'[starts;ends;til count starts];
  `session`metric`mount xasc whole,per}

/ ---- erasing ---------------------------------------------------------------

/ Deletes an instance and all its rows; returns rows deleted per table, or
/ signals 'unknown.
.vitals.erase:{[iid]
  .vitals.need[.vitals.isGuid iid; "erase: instance id must be a guid"];
  if[not .vitals.exists iid; 'unknown];
  n:{[iid;t] count select from t where instance_id=iid}[iid] each `cpu`ram`disc;
  {[iid;t] ![t;enlist (=;`instance_id;iid);0b;`symbol$()]}[iid] each `cpu`ram`disc`batches;
  delete from `instances where instance_id=iid;
  .vitals.applyAttr[];
  `cpu`ram`disc!n}

/ The Warsaw day roll: erases every row outside [lo, hi), batch ids of other
/ days, and resets the counters of other days. Returns rows erased.
.vitals.clearDay:{[lo;hi;day]
  .vitals.need[.vitals.isTs lo; "clearDay: lo must be a timestamp"];
  .vitals.need[-14h=type day; "clearDay: day must be a date"];
  n:{[w;t] count select from t where not ts within w}[(lo;hi-1)] each `cpu`ram`disc;
  {[w;t] ![t;enlist (not;(within;`ts;enlist w));0b;`symbol$()]}[(lo;hi-1)] each `cpu`ram`disc;
  delete from `batches where day<>day;
  update quota_day:day, cpu_rows:0, ram_rows:0, disc_rows:0 from `instances where quota_day<>day;
  .vitals.applyAttr[];
  `cpu`ram`disc!n}

.vitals.rowCounts:{[] `cpu`ram`disc!count each (cpu;ram;disc)}

/ ---- access control --------------------------------------------------------

/ Only calls of these functions, as (`name; args...) lists, by the server's
/ user. Text queries, other functions and other users are refused.
.vitals.api:`.vitals.register`.vitals.exists`.vitals.instanceCount`.vitals.ingest`.vitals.series`.vitals.mounts`.vitals.dayRows`.vitals.stats`.vitals.erase`.vitals.clearDay`.vitals.rowCounts
.vitals.user:`$getenv`VITALS_Q_USER
.vitals.allowed:{[x]
  (0h=type x) and (count x) and (-11h=type first x) and (first[x] in .vitals.api) and .z.u=.vitals.user}
.vitals.guard:{[x] $[.vitals.allowed x; value x; '"access: only the Vitals server may call the Vitals functions"]}
.z.pg:.vitals.guard
.z.ps:.vitals.guard
