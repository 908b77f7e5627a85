/ Vitals tickerplant: every write of the Vitals servers is logged to the
/ day's log file *before* it is published to the realtime databases, and
/ the log is replayed by an RDB that (re)starts, so an acknowledged batch
/ survives a tickerplant or RDB restart.
/
/ Start:  VITALS_Q_USER=vitals VITALS_TICK_DIR=/var/lib/vitals/tick \
/         q q/tick/tick.q -p 5010 -U /etc/vitals/q-users
/
/ The servers send  (`.vitals.tp.send; kind; reqid; args)  asynchronously
/ (kind: `register`ingest`erase`clear; reqid: a guid naming the write), then
/ a synchronous (`.vitals.tp.flush; ::) whose answer means: everything sent
/ before it is in the log and on its way to every RDB. Its answer is the
/ bytes still queued to subscribers, the servers' back-pressure signal.
/ RDBs call (`.u.sub; ::) and get (log file; messages in it) to replay.
/ The day (a Europe/Warsaw date) is the server's: (`.vitals.tp.roll; date).

\d .u
dir:hsym `$getenv`VITALS_TICK_DIR
w:`int$()                                   / subscriber handles
d:0Nd                                       / the log's day
L:`                                         / the log file
l:0Ni                                       / its handle
i:0                                         / messages in it
logfile:{[day] ` sv dir,`$"vitals",string day}
/ Opens (creating if new) the log of `day`, counting what it holds. A log
/ cut short by a crash is truncated to its last whole message.
open:{[day]
  if[not null l; hclose l];
  d::day; L::logfile day;
  if[()~key L; .[L;();:;()]];
  n:-11!(-2;L);
  / A whole log answers its message count; a torn one (count; whole bytes).
  if[-7h=type n; .u.i::n];
  if[0h<=type n;
    -1 "vitals tick: ",(string L)," was cut short; keeping its first ",(string n 0)," messages";
    L 1: (n 1)#read1 L;
    .u.i::n 0];
  l::hopen L;
  }
pub:{[msg] {[h;m] neg[h] m}[;msg] each w;}
\d .

/ The newest log in the directory at start, or none until the first roll.
.vitals.tp.start:{[]
  fs:key .u.dir;
  logs:fs where fs like "vitals*";
  if[count logs; .u.open "D"$7_ string last asc logs];
  }

.vitals.tp.send:{[kind;reqid;args]
  if[null .u.l; '"tick: no log open; the server rolls the day first"];
  msg:(`.vitals.apply;kind;reqid;args);
  .u.l enlist msg;                            / log first ...
  .u.i+:1;
  .u.pub msg;                                 / ... then publish
  }

.vitals.tp.flush:{[x] sum .z.W .u.w}

.vitals.tp.roll:{[day]
  if[not -14h=type day; '"roll: day must be a date"];
  if[day<>.u.d; .u.open day];
  .u.i}

.u.sub:{[x] .u.w,:.z.w; (.u.L;.u.i)}
.z.pc:{[h] .u.w::.u.w except h}

/ Only these calls, only by the Vitals user (servers and RDBs).
.vitals.tp.api:`.vitals.tp.send`.vitals.tp.flush`.vitals.tp.roll`.u.sub
.vitals.tp.user:`$getenv`VITALS_Q_USER
.vitals.tp.guard:{[x]
  ok:(0h=type x) and (count x) and (-11h=type first x) and (first[x] in .vitals.tp.api) and .z.u=.vitals.tp.user;
  $[ok; value x; '"access: only the Vitals server may call the tickerplant"]}
.z.pg:.vitals.tp.guard
.z.ps:.vitals.tp.guard

.vitals.tp.start[]
