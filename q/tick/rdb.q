/ Vitals realtime database: the tables and query functions of q/vitals.q,
/ fed only by the tickerplant. On start it subscribes and replays the
/ day's log, so it rebuilds every table, counter and batch id after a
/ restart. Writes are applied in log order by .vitals.apply, which keeps
/ each write's answer under its request id for the server to fetch.
/
/ Start:  VITALS_Q_USER=vitals VITALS_TP=:localhost:5010:vitals:PASSWORD \
/         q q/tick/rdb.q -p 5011 -U /etc/vitals/q-users

system "l ",1_ string .Q.dd[first ` vs hsym .z.f;`$"../vitals.q"]

/ reqid -> answer (any q value, or (`error;"text")); recent writes only.
.vitals.results:(`guid$())!()
.vitals.keepResults:100000

.vitals.apply:{[kind;reqid;args]
  r:@[{[kind;args] $[kind=`register; .vitals.register . args;
                      kind=`ingest;   .vitals.ingest . args;
                      kind=`erase;    .vitals.erase . args;
                      kind=`clear;    .vitals.clearDay . args;
                      '"unknown write"]}[kind];
      args; {(`error;x)}];
  .vitals.results[reqid]:r;
  if[.vitals.keepResults<count .vitals.results;
    .vitals.results:(neg .vitals.keepResults)#.vitals.results];
  }

/ The answer of a write, or `pending while the tickerplant's message is on
/ its way.
.vitals.result:{[reqid] $[reqid in key .vitals.results; .vitals.results reqid; `pending]}

/ The RDB also answers .vitals.result, and takes .vitals.apply from the
/ tickerplant (same user).
.vitals.api,:`.vitals.result`.vitals.apply

.vitals.tp:hopen `$getenv`VITALS_TP
.vitals.subscribe:{[]
  s:.vitals.tp(`.u.sub;::);
  if[not null s 0; -11!(s 1;s 0)];              / replay the day so far
  }
.vitals.subscribe[]
