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
/ `dup (batch id already stored: nothing stored again), `quota (one of its
/ tables would pass `limit` rows today: nothing of it stored) or `ok.
/ Returns a table: status, and the instance's cpu/ram/disc rows today after
/ that batch, so every instance gets its own answer.
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
  cnt:{[day;iid] $[iid in key[instances]`instance_id;
      [x:instances iid; $[day=x`quota_day; x`cpu_rows`ram_rows`disc_rows; 0 0 0]];
      0 0 0]}[day] each inst;
  counts:inst!cnt;
  seen:exec batch_id by instance_id from batches;
  status:();
  after:();
  ok:`guid$();
  i:0;
  while[i<count b;
    x:b i;
    iid:x`instance_id;
    n:x`ncpu`nram`ndisc;
    st:$[not iid in inst; `unknown;
      x[`batch_id] in (seen iid),ok; `dup;
      any (n>0) & limit<counts[iid]+n; `quota;
      `ok];
    if[st=`ok; counts[iid]+:n; ok,:x`batch_id];
    status,:st;
    after,:enlist $[iid in inst; counts iid; 0 0 0];
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
  ([] status:status; cpu:after[;0]; ram:after[;1]; disc:after[;2])}

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
      `ts xasc select ts, value:usage_pct from cpu where instance_id=iid, ts within (rg 0;rg[1]-1);
    metric=`ram;
      `ts xasc select ts, value:.vitals.pct[used_bytes;total_bytes] from ram where instance_id=iid, ts within (rg 0;rg[1]-1);
      `ts xasc select ts, value:.vitals.pct[used_bytes;total_bytes] from disc where instance_id=iid, mount=mount, ts within (rg 0;rg[1]-1)]}

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
/ `gapMs` milliseconds between consecutive samples of any table starts one).
.vitals.stats:{[iid;lo;hi;gapMs]
  w:(lo;hi-1);
  c:select ts, v:usage_pct from cpu where instance_id=iid, ts within w;
  r:select ts, v:.vitals.pct[used_bytes;total_bytes] from ram where instance_id=iid, ts within w;
  d:select ts, mount, v:.vitals.pct[used_bytes;total_bytes] from disc where instance_id=iid, ts within w;
  all_ts:asc distinct (c`ts),(r`ts),d`ts;
  gap:`timespan$1000000*gapMs;
  / Indices where a session starts: the first sample, and each sample more
  / than `gap` after the one before. A session ends just before the next start.
  si:$[count all_ts; where 1b,gap<1_ deltas all_ts; `long$()];
  starts:all_ts si;
  ends:all_ts -1+1_ si,count all_ts;
  perMount:{[d;w] m:asc distinct exec mount from d where ts within w;
    m!{[d;w;m] .vitals.summary exec v from d where mount=m, ts within w}[d;w] each m};
  sess:{[c;r;d;pm;s;e] w:(s;e);
    `start`end`cpu`ram`disc!(s;e;.vitals.summary exec v from c where ts within w;
      .vitals.summary exec v from r where ts within w; pm[d;w])}[c;r;d;perMount]'[starts;ends];
  `cpu`ram`disc`sessions!(.vitals.summary c`v; .vitals.summary r`v; perMount[d;w]; sess)}

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
