/ q unit tests of every function in q/vitals.q.
/ Run from the repository root:  q q/tests/test_vitals.q -q
/ Prints one line per failure and "N passed, M failed"; exits 1 on failure.

system "l ",1_ string .Q.dd[first ` vs hsym .z.f;`$"../vitals.q"]

.t.pass:0; .t.fail:0
.t.eq:{[name;got;want]
  $[got~want; .t.pass+:1; [.t.fail+:1; -1 "FAIL ",name,": got ",(-3!got),", want ",-3!want]]}
.t.err:{[name;f;args]
  r:@[{(1b;x . y)}[f];args;{(0b;x)}];
  $[not first r; .t.pass+:1; [.t.fail+:1; -1 "FAIL ",name,": expected an error"]]}

a:"G"$"00000000-0000-0000-0000-000000000001"
b:"G"$"00000000-0000-0000-0000-000000000002"
day:2026.12.04
lo:2026.12.03D23:00:00.000000000
hi:2026.12.04D23:00:00.000000000
t0:2026.12.04D11:00:00.000000000

/ A group of one batch of n seconds for instance i.
mk:{[i;bid;n]
  ts:t0+`timespan$1000000000*til n;
  bt:([] instance_id:enlist i; batch_id:enlist bid; ncpu:enlist `long$n; nram:enlist `long$n; ndisc:enlist `long$2*n);
  c:([] instance_id:n#i; batch_id:n#bid; ts:ts; usage_pct:`float$til n; cores_pct:n#enlist 1 2f; load1:n#0.5);
  r:([] instance_id:n#i; batch_id:n#bid; ts:ts; used_bytes:n#25; total_bytes:n#100; swap_used_bytes:n#0; swap_total_bytes:n#0);
  d:([] instance_id:(2*n)#i; batch_id:(2*n)#bid; ts:raze 2#'ts; mount:(2*n)#`$("/";"/home"); used_bytes:(2*n)#50 10; total_bytes:(2*n)#100; read_bps:(2*n)#0f; write_bps:(2*n)#0f);
  (bt;c;r;d)}
ing:{[limit;g] .vitals.ingest[day;limit] . g}

/ register / exists / limit
.t.eq["register";.vitals.register[a;t0;"v1";10];`ok]
.t.eq["exists";.vitals.exists a;1b]
.t.eq["not exists";.vitals.exists b;0b]
.t.eq["limit";.vitals.register[b;t0;"v1";1];`limit]
.t.err["register needs a guid";.vitals.register;("x";t0;"v1";10)]
.vitals.register[b;t0;"v1";10]

/ ingest: ok, dup, quota, unknown
g1:mk[a;"G"$"10000000-0000-0000-0000-000000000001";3]
.t.eq["ingest ok";exec status from ing[1000;g1];enlist`ok]
.t.eq["rows stored";.vitals.rowCounts[];`cpu`ram`disc!3 3 6]
.t.eq["ingest dup";exec status from ing[1000;g1];enlist`dup]
.t.eq["dup stores nothing";.vitals.rowCounts[];`cpu`ram`disc!3 3 6]
g2:mk[a;"G"$"10000000-0000-0000-0000-000000000002";2]
g2[1;`ts]+:0D00:10; g2[2;`ts]+:0D00:10; g2[3;`ts]+:0D00:10
q:ing[9;g2]
.t.eq["ingest quota";exec status from q;enlist`quota]
.t.eq["quota answer counts";first[q]`cpu`ram`disc;3 3 6]
.t.eq["quota stores nothing";.vitals.rowCounts[];`cpu`ram`disc!3 3 6]
gu:mk["G"$"00000000-0000-0000-0000-0000000000ff";"G"$"10000000-0000-0000-0000-000000000009";1]
.t.eq["ingest unknown";exec status from ing[1000;gu];enlist`unknown]
.t.err["ingest checks types";.vitals.ingest;(day;1000;g1 0;update usage_pct:`long$usage_pct from g1 1;g1 2;g1 3)]
/ Two instances in one coalesced call, each with its own answer.
gb:mk[b;"G"$"20000000-0000-0000-0000-000000000001";1]
both:(g2[0],gb 0;g2[1],gb 1;g2[2],gb 2;g2[3],gb 3)
res:.vitals.ingest[day;11] . both
.t.eq["coalesced statuses";res`status;`quota`ok]
.t.eq["coalesced counts b";last[res]`cpu`ram`disc;1 1 2]

/ series, mounts, dayRows
.t.eq["series cpu";exec value from .vitals.series[a;`cpu;`;lo;hi;lo;hi];0 1 2f]
.t.eq["series ram";exec value from .vitals.series[a;`ram;`;lo;hi;lo;hi];3#25f]
.t.eq["series disc mount";exec value from .vitals.series[a;`disc;`$"/home";lo;hi;lo;hi];3#10f]
.t.eq["series clamps to day";count .vitals.series[a;`cpu;`;lo;hi;lo-0D01;lo];0]
.t.eq["series other instance";count .vitals.series[b;`cpu;`;lo;hi;lo;hi];1]
.t.eq["mounts";.vitals.mounts[a;lo;hi];`$("/";"/home")]
.t.eq["dayRows";count .vitals.dayRows[a;`disc;lo;hi];6]
.t.err["series metric";.vitals.series;(a;`gpu;`;lo;hi;lo;hi)]

/ stats: nearest-rank p95, even-count median, sessions
.t.eq["p95 of 1..20";.vitals.p95 1+til 20;19]
.t.eq["p95 of 1..101";.vitals.p95 1+til 101;96]
s:.vitals.stats[a;lo;hi;300000]
dayCpu:first select from s where session=-1, metric=`cpu
.t.eq["stats cpu";dayCpu`cnt`mean`mdn`mn`mx`p95;(3;1f;1f;0f;2f;2f)]
.t.eq["stats disc mounts";exec mount from s where session=-1, metric=`disc;`$("/";"/home")]
.t.eq["one session";exec distinct session from s where session>=0;enlist 0]
.t.eq["session bounds";exec first start from s where session=0;t0]
.t.eq["empty stats";count .vitals.stats["G"$"00000000-0000-0000-0000-0000000000ee";lo;hi;300000];0]
/ A second session after a gap of more than five minutes (g2's rows at +10 min were refused, b's are another instance).
g3:mk[a;"G"$"10000000-0000-0000-0000-000000000003";1]
g3[1;`ts]:enlist t0+0D01; g3[2;`ts]:enlist t0+0D01; g3[3;`ts]:2#t0+0D01
.t.eq["later batch ok";exec status from ing[1000;g3];enlist`ok]
.t.eq["two sessions";exec distinct session from .vitals.stats[a;lo;hi;300000] where session>=0;0 1]

/ ingest refuses rows whose timestamp is already stored, naming the first
gx:mk[a;"G"$"10000000-0000-0000-0000-000000000004";1]
rx:ing[1000;gx]
.t.eq["exists status";exec status from rx;enlist`exists]
.t.eq["exists names table and ts";first[rx]`tbl`ts;(`cpu;t0)]
.t.eq["exists stores nothing";.vitals.rowCounts[]`cpu;5]

/ erase and clearDay
old:mk[a;"G"$"30000000-0000-0000-0000-000000000001";1]
old[1;`ts]:enlist lo-0D00:00:01; old[2;`ts]:enlist lo-0D00:00:01; old[3;`ts]:2#lo-0D00:00:01
ing[1000;old]
.t.eq["clearDay";.vitals.clearDay[lo;hi;day];`cpu`ram`disc!1 1 2]
.t.eq["clearDay keeps today";.vitals.rowCounts[];`cpu`ram`disc!5 5 10]
.t.eq["grouped attribute kept";attr cpu`instance_id;`g]
.t.eq["erase b";.vitals.erase b;`cpu`ram`disc!1 1 2]
.t.eq["erase leaves a";.vitals.rowCounts[];`cpu`ram`disc!4 4 8]
.t.err["erase unknown";.vitals.erase;enlist b]

/ access control
.vitals.user:.z.u
.t.eq["allowed call";.vitals.allowed (`.vitals.rowCounts;::);1b]
.t.eq["text refused";.vitals.allowed "delete from `cpu";0b]
.t.eq["other function refused";.vitals.allowed (`system;"ls");0b]
.vitals.user:`someone_else
.t.eq["other user refused";.vitals.allowed (`.vitals.rowCounts;::);0b]

-1 (string .t.pass)," passed, ",(string .t.fail)," failed";
exit `int$0<.t.fail
