-- tests/bench/scale/fixture.sql: the bench-scale market (issue 14), a marketd database at
-- schema version 3, written by the sqlite3 shell: sqlite3 NEW.db < fixture.sql
-- (tests/bench/scale/fixture.sh runs it, caches the result and lets marketd migrate it).
--
-- 1,000,000 listings and 1,000,000 threads (negotiations), 10,000,000 messages (10 a
-- thread), 10,000,000 ledger entries, 2,000 agents, and the purchases, alerts, decisions
-- and balances that go with them. The working set, the newest part of the market:
-- 500 purchases pending approval (2 open alerts each: 1,000), 20,000 open threads.
--
-- Objects are what marketd writes (marketd/db.c, trade.c, settle.c, risk.c, decide.c,
-- agents.c): the same JSON, key order and indexed columns (status, p1, p2, due,
-- created); each object's row names its event (objects.seq) and each event row refers to
-- its data (schema 3: json '', src, src_id, src_n), so /v1/events replays all of them.
--
-- The market is a sequence of thread blocks, one per thread i, newest last; block i
-- holds, in seq order: listing lst_i, negotiation neg_i, its 10 messages, and then by
-- the thread's class:
--   closed  (i <= nclosed): its purchase pur_i, one alert (acked), the operator's
--           approve decision, and 10 or 11 ledger entries (settlement, refund,
--           settlement, ...; an odd count leaves the purchase settled, an even one
--           refunded). marketd posts at most a settlement and a refund per purchase:
--           the issue's 10M entries over its 1M threads cannot all be distinct
--           purchases' postings, so each closed purchase carries several (stated in
--           docs/benchmarks.md); balances and spent_minor are their exact sums.
--   pending (the next npend): its purchase pending_approval (decide_by in 2099, so the
--           clock never expires it between runs), two open alerts;
--   open    (the last nopen): the thread open, terms on the table.
-- Seqs are a closed form of i (no sort, no lookup): every statement streams in order.
-- Data is deterministic: a multiplicative hash of i picks prices, words and parties.

PRAGMA journal_mode=OFF;
PRAGMA synchronous=OFF;
PRAGMA locking_mode=EXCLUSIVE;
PRAGMA cache_size=-1000000;
PRAGMA temp_store=MEMORY;

CREATE TEMP TABLE cfg AS SELECT 1000000 AS n, 20000 AS nopen, 500 AS npend,
    10000000 AS nledger, 2000 AS nagents, 1764000000000 AS t0;

-- ---- the schema of marketd/store_sqlite_schema.c at user_version 3 ------------------
-- (as `.schema` prints a database marketd made: migrations 1-3 applied). The indexes
-- other than the keys are made after the data, with the same statements.
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE objects(ord INTEGER PRIMARY KEY, kind TEXT NOT NULL, id TEXT NOT NULL, status TEXT, p1 TEXT, p2 TEXT, due INTEGER, created INTEGER NOT NULL, json TEXT NOT NULL, seq INTEGER, UNIQUE(kind, id));
CREATE TABLE messages(negotiation_id TEXT NOT NULL, seq INTEGER NOT NULL, from_id TEXT NOT NULL, kind TEXT NOT NULL, at INTEGER NOT NULL, json TEXT NOT NULL, PRIMARY KEY(negotiation_id, seq));
CREATE TABLE events(seq INTEGER PRIMARY KEY, type TEXT NOT NULL, at INTEGER NOT NULL, json TEXT NOT NULL, src TEXT, src_id TEXT, src_n INTEGER);
CREATE TABLE idem(actor TEXT NOT NULL, key TEXT NOT NULL, fingerprint TEXT NOT NULL, status INTEGER NOT NULL, body TEXT NOT NULL, at INTEGER NOT NULL, refs TEXT, PRIMARY KEY(actor, key));
CREATE TABLE agent_tokens(hash TEXT PRIMARY KEY, agent_id TEXT NOT NULL);
CREATE TABLE balances(account TEXT PRIMARY KEY, amount INTEGER NOT NULL);
CREATE TABLE faults(n INTEGER PRIMARY KEY, kind TEXT NOT NULL, purchase_id TEXT, negotiation_id TEXT, listing_id TEXT, agent_id TEXT, at INTEGER NOT NULL);
CREATE TABLE ref_keys(category TEXT NOT NULL, currency TEXT NOT NULL, total INTEGER NOT NULL, PRIMARY KEY(category, currency)) WITHOUT ROWID;
CREATE TABLE ref_prices(category TEXT NOT NULL, currency TEXT NOT NULL, slot INTEGER NOT NULL, price INTEGER NOT NULL, PRIMARY KEY(category, currency, slot)) WITHOUT ROWID;

BEGIN;

-- ---- small tables: words, categories, the slots of a block ---------------------------
CREATE TEMP TABLE w(n INTEGER PRIMARY KEY, t TEXT);
INSERT INTO w(n, t) SELECT key, value FROM json_each('["H100","GPU","hours","bike","road",
  "54cm","API","credits","lamp","vintage","brass","mint","bulk","block","tokens","hybrid",
  "Trek","oak","desk","chair","novel","atlas","concert","ticket","camera","lens","spare",
  "rack","server","cloud","gravel","carbon"]');
CREATE TEMP TABLE cat(n INTEGER PRIMARY KEY, t TEXT);
INSERT INTO cat(n, t) SELECT key, value FROM json_each('["bikes","furniture","electronics",
  "books","tickets","gpu-hours","compute","api-credits"]');
-- slot: offset in the block's seqs; what the slot holds
CREATE TEMP TABLE slot(n INTEGER PRIMARY KEY, what TEXT);
INSERT INTO slot(n, what) SELECT value, CASE WHEN value = 0 THEN 'listing'
  WHEN value = 1 THEN 'negotiation' WHEN value <= 11 THEN 'message'
  WHEN value = 12 THEN 'purchase' WHEN value = 13 THEN 'alert'
  WHEN value = 14 THEN 'decision' ELSE 'ledger' END FROM generate_series(0, 25);

-- ---- one row per thread block: its class, first seq, parties, prices ----------------
-- cls 0 closed, 1 pending, 2 open; s: the seq (and ord) of its listing; k: its ledger
-- entries; lb: ledger entries before it; t: its time (ms), 30 s apart.
CREATE TEMP VIEW blk0 AS SELECT value AS i,
  (SELECT n - nopen - npend FROM cfg) AS nc, (SELECT nledger FROM cfg) AS nl,
  (SELECT nagents FROM cfg) / 2 AS nb, (SELECT t0 FROM cfg) AS t0,
  (value * 2654435761) % 4294967296 AS h
  FROM generate_series(1, (SELECT n FROM cfg));
CREATE TEMP VIEW blk1 AS SELECT i, nc, nl, nb, h,
  CASE WHEN i <= nc THEN 0 WHEN i <= nc + (SELECT npend FROM cfg) THEN 1 ELSE 2 END AS cls,
  CASE WHEN i <= nc THEN (i - 1) * nl / nc ELSE nl END AS lb,
  CASE WHEN i <= nc THEN i * nl / nc - (i - 1) * nl / nc ELSE 0 END AS k,
  1 + (i * 7919) % nb AS buyer, nb + 1 + (i * 6007) % nb AS seller,
  t0 + i * 30000 AS t,
  500 + h % 200000 AS p, 1 + (h / 256) % 20 AS q
  FROM blk0;
CREATE TEMP VIEW blk AS SELECT *,
  CASE cls WHEN 0 THEN 2 * nb * 2 + 1 + (i - 1) * 15 + lb
    WHEN 1 THEN 2 * nb * 2 + 1 + nc * 15 + nl + (i - nc - 1) * 15
    ELSE 2 * nb * 2 + 1 + nc * 15 + nl + (SELECT npend FROM cfg) * 15
      + (i - nc - (SELECT npend FROM cfg) - 1) * 12 END AS s,
  p * 97 / 100 AS ap, (p * 97 / 100) * q AS total,
  (SELECT t FROM cat WHERE n = (h / 65536) % 8) AS category
  FROM blk1;

-- RFC 3339 UTC with milliseconds, as marketd writes times (mkt_time_str)
-- (written inline below as strftime('%Y-%m-%dT%H:%M:%fZ', ms / 1000.0, 'unixepoch'))

-- ---- balances (every agent posts; an odd count of entries nets one settlement) -------
INSERT INTO balances(account, amount)
  SELECT 'agent:agt_' || a, SUM(d) FROM (
    SELECT buyer AS a, CASE WHEN k % 2 = 1 THEN -total ELSE 0 END AS d FROM blk WHERE cls = 0
    UNION ALL
    SELECT seller, CASE WHEN k % 2 = 1 THEN total ELSE 0 END FROM blk WHERE cls = 0)
  GROUP BY a;

-- ---- agents and their registrations (seq 1 .. 2 * nagents) ---------------------------
INSERT INTO objects(ord, kind, id, status, p1, p2, due, created, json, seq)
  SELECT value, CASE value % 2 WHEN 1 THEN 'agent' ELSE 'decision' END,
    CASE value % 2 WHEN 1 THEN 'agt_' ELSE 'dec_' END || ((value + 1) / 2),
    CASE value % 2 WHEN 1 THEN 'active' END, NULL, NULL, NULL, t0 - 86400000 + value * 1000,
    CASE value % 2 WHEN 1 THEN printf('{"id":"agt_%d","version":2,"name":"%s-%d","principal":'
      || '"%s","role":"%s","status":"active","currency":"USD","limits":{"spend_cap_minor":'
      || '1000000000000,"per_deal_max_minor":50000000,"approval_threshold_minor":10000,'
      || '"max_quantity":1000},"spent_minor":%d,"mandate":{"categories":["bikes","furniture",'
      || '"electronics","books","tickets","gpu-hours","compute","api-credits"]},"addresses":'
      || '["%d Market St, Springfield"],"held_by":[],"updated_at":"%s"}',
      (value + 1) / 2, CASE WHEN (value + 1) / 2 <= nb THEN 'buyer' ELSE 'seller' END,
      (value + 1) / 2, 'Principal ' || ((value + 1) / 2 % 97),
      CASE WHEN (value + 1) / 2 <= nb THEN 'buyer' ELSE 'seller' END,
      CASE WHEN (value + 1) / 2 <= nb THEN -COALESCE((SELECT amount FROM balances
        WHERE account = 'agent:agt_' || ((value + 1) / 2)), 0) ELSE 0 END,
      (value + 1) / 2, strftime('%Y-%m-%dT%H:%M:%fZ', (t0 - 86400000 + value * 1000) / 1000.0,
      'unixepoch'))
    ELSE printf('{"id":"dec_%d","action":"register","subject":{"kind":"agent","id":"agt_%d"},'
      || '"by":"sup1","at":"%s","reason":null,"params":null}', value / 2, value / 2,
      strftime('%Y-%m-%dT%H:%M:%fZ', (t0 - 86400000 + value * 1000) / 1000.0, 'unixepoch'))
    END, value
  FROM generate_series(1, (SELECT nagents FROM cfg) * 2),
    (SELECT nagents / 2 AS nb, t0 FROM cfg);

INSERT INTO events(seq, type, at, json, src, src_id, src_n)
  SELECT seq, CASE kind WHEN 'agent' THEN 'agent.updated' ELSE 'decision.recorded' END,
    created, '', kind, id, 0 FROM objects ORDER BY ord;

-- ---- the thread blocks' objects, in ord (= seq) order --------------------------------
INSERT INTO objects(ord, kind, id, status, p1, p2, due, created, json, seq)
  SELECT b.s + sl.n,
    CASE WHEN sl.n = 14 AND b.cls = 1 THEN 'alert' ELSE sl.what END,
    CASE sl.what WHEN 'listing' THEN 'lst_' || b.i WHEN 'negotiation' THEN 'neg_' || b.i
      WHEN 'purchase' THEN 'pur_' || b.i
      WHEN 'alert' THEN 'alr_' || CASE b.cls WHEN 0 THEN b.i ELSE b.nc + 2 * (b.i - b.nc) - 1 END
      WHEN 'decision' THEN CASE b.cls WHEN 0 THEN 'dec_' || (b.nb * 2 + b.i)
        ELSE 'alr_' || (b.nc + 2 * (b.i - b.nc)) END
      ELSE 'led_' || (b.lb + sl.n - 14) END,
    CASE sl.what WHEN 'listing' THEN CASE b.cls WHEN 0 THEN 'sold' ELSE 'open' END
      WHEN 'negotiation' THEN CASE b.cls WHEN 2 THEN 'open' ELSE 'agreed' END
      WHEN 'purchase' THEN CASE b.cls WHEN 1 THEN 'pending_approval'
        WHEN 0 THEN CASE b.k % 2 WHEN 1 THEN 'settled' ELSE 'refunded' END END
      WHEN 'alert' THEN CASE b.cls WHEN 0 THEN 'acked' ELSE 'open' END
      WHEN 'decision' THEN CASE b.cls WHEN 1 THEN 'open' END END,
    CASE sl.what WHEN 'listing' THEN 'agt_' || b.seller
      WHEN 'negotiation' THEN 'agt_' || b.buyer WHEN 'purchase' THEN 'agt_' || b.buyer
      WHEN 'alert' THEN 'pur_' || b.i
      WHEN 'decision' THEN CASE b.cls WHEN 1 THEN 'pur_' || b.i END END,
    CASE WHEN sl.what IN ('negotiation', 'purchase') THEN 'agt_' || b.seller END,
    CASE WHEN sl.what = 'purchase' AND b.cls = 1
      THEN 4102444800000 - (b.i - b.nc) * 60000 END,
    b.t + CASE sl.what WHEN 'listing' THEN 0 WHEN 'negotiation' THEN 1000
      WHEN 'purchase' THEN 20000 WHEN 'alert' THEN 20000
      WHEN 'decision' THEN CASE b.cls WHEN 0 THEN 22000 ELSE 20000 END
      ELSE 24000 + (sl.n - 14) * 100 END,
    CASE sl.what
    WHEN 'listing' THEN printf('{"id":"lst_%d","version":%d,"seller_id":"agt_%d","title":'
      || '"%s %s %s lot %d","description":"%s %s, %s condition; ships from %s","category":'
      || '"%s","unit_price_minor":%d,"currency":"USD","quantity":%d,'
      || '"reference_price_minor":%d,"floor_minor":%s,"status":"%s","created_at":"%s",'
      || '"updated_at":"%s"}', b.i, CASE b.cls WHEN 0 THEN 2 ELSE 1 END, b.seller,
      (SELECT t FROM w WHERE n = b.h % 32), (SELECT t FROM w WHERE n = (b.h / 32) % 32),
      (SELECT t FROM w WHERE n = (b.h / 1024) % 32), b.h % 100000,
      (SELECT t FROM w WHERE n = (b.h / 4096) % 32), (SELECT t FROM w WHERE n = (b.h / 8) % 32),
      CASE b.h % 3 WHEN 0 THEN 'good' WHEN 1 THEN 'mint' ELSE 'used' END,
      'warehouse ' || (b.seller % 40), b.category, b.p, CASE b.cls WHEN 0 THEN 0 ELSE b.q END,
      b.p * (90 + b.h % 20) / 100,
      CASE WHEN (b.h / 1048576) % 3 = 0 THEN 'null' ELSE CAST(b.p * 60 / 100 AS TEXT) END,
      CASE b.cls WHEN 0 THEN 'sold' ELSE 'open' END,
      strftime('%Y-%m-%dT%H:%M:%fZ', b.t / 1000.0, 'unixepoch'),
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + CASE b.cls WHEN 0 THEN 24100 ELSE 0 END) / 1000.0,
        'unixepoch'))
    WHEN 'negotiation' THEN printf('{"id":"neg_%d","version":11,"listing_id":"lst_%d",'
      || '"buyer_id":"agt_%d","seller_id":"agt_%d","status":"%s","terms":%s,'
      || '"agreed_terms":%s,"cap":null,"currency":"USD","message_count":10,"opened_at":"%s",'
      || '"held_by":[],"updated_at":"%s"}', b.i, b.i, b.buyer, b.seller,
      CASE b.cls WHEN 2 THEN 'open' ELSE 'agreed' END,
      CASE b.cls WHEN 2 THEN printf('{"unit_price_minor":%d,"quantity":%d,"by":"agt_%d"}',
          b.p * 100 / 100, b.q, b.seller)
        ELSE printf('{"unit_price_minor":%d,"quantity":%d,"by":"agt_%d"}', b.ap, b.q, b.buyer)
        END,
      CASE b.cls WHEN 2 THEN 'null'
        ELSE printf('{"unit_price_minor":%d,"quantity":%d,"by":"agt_%d"}', b.ap, b.q, b.buyer)
        END,
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 1000) / 1000.0, 'unixepoch'),
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 20000) / 1000.0, 'unixepoch'))
    WHEN 'purchase' THEN printf('{"id":"pur_%d","version":%d,"negotiation_id":"neg_%d",'
      || '"listing_id":"lst_%d","buyer_id":"agt_%d","seller_id":"agt_%d","unit_price_minor":%d,'
      || '"quantity":%d,"total_minor":%d,"currency":"USD","ship_to":"%s","status":"%s",'
      || '"flags":%s,"risk_score":%d,"decide_by":"%s","default_on_timeout":"veto",'
      || '"decision":%s,"created_at":"%s","updated_at":"%s"}', b.i,
      CASE b.cls WHEN 0 THEN 2 + b.k ELSE 1 END, b.i, b.i, b.buyer, b.seller, b.ap, b.q,
      b.total, CASE b.cls WHEN 0 THEN b.buyer || ' Market St, Springfield'
        ELSE '99 Unknown Rd, Nowhere' END,
      CASE b.cls WHEN 1 THEN 'pending_approval'
        ELSE CASE b.k % 2 WHEN 1 THEN 'settled' ELSE 'refunded' END END,
      CASE b.cls WHEN 0 THEN '[{"rule":"overpay","severity":"warning","detail":"the unit '
          || 'price is more than 1.5x the reference price"}]'
        ELSE '[{"rule":"overpay","severity":"warning","detail":"the unit price is more than '
          || '1.5x the reference price"},{"rule":"ship_to_unverified","severity":"critical",'
          || '"detail":"the ship-to address is not one of the buyer''s verified addresses"}]'
        END,
      CASE b.cls WHEN 0 THEN 20 ELSE 60 END,
      strftime('%Y-%m-%dT%H:%M:%fZ', CASE b.cls WHEN 0 THEN b.t + 140000
        ELSE 4102444800000 - (b.i - b.nc) * 60000 END / 1000.0, 'unixepoch'),
      CASE b.cls WHEN 0 THEN printf('{"action":"approve","by":"sup1","at":"%s","reason":null,'
          || '"cap":null}', strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 22000) / 1000.0, 'unixepoch'))
        ELSE 'null' END,
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 20000) / 1000.0, 'unixepoch'),
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + CASE b.cls WHEN 0 THEN 24000 + b.k * 100
        ELSE 20000 END) / 1000.0, 'unixepoch'))
    WHEN 'ledger' THEN printf('{"id":"led_%d","seq":%d,"kind":"%s","purchase_id":"pur_%d",'
      || '"currency":"USD","postings":[{"account":"agent:agt_%d","amount_minor":%d},'
      || '{"account":"agent:agt_%d","amount_minor":%d}],"at":"%s"}',
      b.lb + sl.n - 14, b.lb + sl.n - 14,
      CASE (sl.n - 14) % 2 WHEN 1 THEN 'settlement' ELSE 'refund' END, b.i,
      b.buyer, CASE (sl.n - 14) % 2 WHEN 1 THEN -b.total ELSE b.total END,
      b.seller, CASE (sl.n - 14) % 2 WHEN 1 THEN b.total ELSE -b.total END,
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 24000 + (sl.n - 14) * 100) / 1000.0, 'unixepoch'))
    WHEN 'decision' THEN CASE b.cls
      WHEN 0 THEN printf('{"id":"dec_%d","action":"approve","subject":{"kind":"purchase",'
        || '"id":"pur_%d"},"by":"sup1","at":"%s","reason":null,"params":'
        || '{"expected_total_minor":%d}}', b.nb * 2 + b.i, b.i,
        strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 22000) / 1000.0, 'unixepoch'), b.total)
      ELSE printf('{"id":"alr_%d","version":1,"severity":"critical","rule":'
        || '"ship_to_unverified","subject":{"kind":"purchase","id":"pur_%d"},"message":'
        || '"the ship-to address is not one of the buyer''s verified addresses","status":'
        || '"open","acked_by":null,"at":"%s","updated_at":"%s"}', b.nc + 2 * (b.i - b.nc), b.i,
        strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 20000) / 1000.0, 'unixepoch'),
        strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 20000) / 1000.0, 'unixepoch')) END
    WHEN 'alert' THEN printf('{"id":"alr_%d","version":%d,"severity":"warning","rule":'
      || '"overpay","subject":{"kind":"purchase","id":"pur_%d"},"message":"unit price %d is '
      || 'more than 1.5x the reference price","status":"%s","acked_by":%s,"at":"%s",'
      || '"updated_at":"%s"}', CASE b.cls WHEN 0 THEN b.i ELSE b.nc + 2 * (b.i - b.nc) - 1 END,
      CASE b.cls WHEN 0 THEN 2 ELSE 1 END, b.i, b.ap,
      CASE b.cls WHEN 0 THEN 'acked' ELSE 'open' END,
      CASE b.cls WHEN 0 THEN '"sup1"' ELSE 'null' END,
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 20000) / 1000.0, 'unixepoch'),
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + CASE b.cls WHEN 0 THEN 22000 ELSE 20000 END)
        / 1000.0, 'unixepoch'))
    END, b.s + sl.n
  FROM blk AS b CROSS JOIN slot AS sl
  WHERE sl.what <> 'message'
    AND (sl.n <= 1 OR (b.cls < 2 AND sl.n <= 14) OR (b.cls = 0 AND sl.n - 14 <= b.k));

-- ---- the thread blocks' events, in seq order ------------------------------------------
INSERT INTO events(seq, type, at, json, src, src_id, src_n)
  SELECT b.s + sl.n,
    CASE sl.what WHEN 'message' THEN 'negotiation.message' WHEN 'ledger' THEN 'ledger.posted'
      WHEN 'decision' THEN CASE b.cls WHEN 0 THEN 'decision.recorded' ELSE 'alert.updated' END
      ELSE sl.what || '.updated' END,
    b.t + CASE sl.what WHEN 'listing' THEN 0 WHEN 'negotiation' THEN 1000
      WHEN 'message' THEN 2000 * (sl.n - 1) WHEN 'purchase' THEN 20000 WHEN 'alert' THEN 20000
      WHEN 'decision' THEN CASE b.cls WHEN 0 THEN 22000 ELSE 20000 END
      ELSE 24000 + (sl.n - 14) * 100 END,
    '',
    CASE sl.what WHEN 'decision' THEN CASE b.cls WHEN 0 THEN 'decision' ELSE 'alert' END
      ELSE sl.what END,
    CASE sl.what WHEN 'listing' THEN 'lst_' || b.i WHEN 'negotiation' THEN 'neg_' || b.i
      WHEN 'message' THEN 'neg_' || b.i WHEN 'purchase' THEN 'pur_' || b.i
      WHEN 'alert' THEN 'alr_' || CASE b.cls WHEN 0 THEN b.i ELSE b.nc + 2 * (b.i - b.nc) - 1 END
      WHEN 'decision' THEN CASE b.cls WHEN 0 THEN 'dec_' || (b.nb * 2 + b.i)
        ELSE 'alr_' || (b.nc + 2 * (b.i - b.nc)) END
      ELSE 'led_' || (b.lb + sl.n - 14) END,
    CASE sl.what WHEN 'message' THEN sl.n - 1 ELSE 0 END
  FROM blk AS b CROSS JOIN slot AS sl
  WHERE sl.n <= 11 OR (b.cls < 2 AND sl.n <= 14) OR (b.cls = 0 AND sl.n - 14 <= b.k);

-- ---- 10 messages a thread: offer, counters, and the seller's accept when agreed ------
INSERT INTO messages(negotiation_id, seq, from_id, kind, at, json)
  SELECT 'neg_' || b.i, m.value, 'agt_' || CASE m.value % 2 WHEN 1 THEN b.buyer ELSE b.seller END,
    CASE WHEN m.value = 1 THEN 'offer' WHEN m.value = 10 AND b.cls < 2 THEN 'accept'
      ELSE 'counter' END,
    b.t + 2000 * m.value,
    printf('{"negotiation_id":"neg_%d","seq":%d,"from":"agt_%d","kind":"%s",'
      || '"unit_price_minor":%d,"quantity":%d,"text":"%s","at":"%s"}', b.i, m.value,
      CASE m.value % 2 WHEN 1 THEN b.buyer ELSE b.seller END,
      CASE WHEN m.value = 1 THEN 'offer' WHEN m.value = 10 AND b.cls < 2 THEN 'accept'
        ELSE 'counter' END,
      CASE WHEN m.value = 10 AND b.cls < 2 THEN b.ap ELSE b.p * (70 + 3 * m.value) / 100 END,
      b.q,
      CASE WHEN m.value = 10 AND b.cls < 2 THEN 'Agreed: ' || b.q || ' at that price.'
        ELSE printf('%s for the %s %s: %d x %d, %s', CASE m.value % 2 WHEN 1 THEN 'Offer'
          ELSE 'Counter' END, (SELECT t FROM w WHERE n = (b.h / 32) % 32),
          (SELECT t FROM w WHERE n = (b.h + m.value) % 32), b.q,
          b.p * (70 + 3 * m.value) / 100,
          CASE (b.h + m.value) % 4 WHEN 0 THEN 'can ship this week'
            WHEN 1 THEN 'final if you pay shipping' WHEN 2 THEN 'need it by Friday'
            ELSE 'price includes the case' END) END,
      strftime('%Y-%m-%dT%H:%M:%fZ', (b.t + 2000 * m.value) / 1000.0, 'unixepoch'))
  FROM blk AS b CROSS JOIN generate_series(1, 10) AS m;

-- ---- reference-price windows: migration 3's own statements over these listings -------
INSERT INTO ref_keys SELECT json_extract(json,'$.category'), json_extract(json,'$.currency'),
 COUNT(*) FROM objects WHERE kind='listing' GROUP BY 1, 2;
INSERT INTO ref_prices SELECT c, cur, (n - r) % 1024, p FROM (
 SELECT json_extract(json,'$.category') AS c, json_extract(json,'$.currency') AS cur,
 json_extract(json,'$.unit_price_minor') AS p,
 ROW_NUMBER() OVER (PARTITION BY json_extract(json,'$.category'),
 json_extract(json,'$.currency') ORDER BY ord DESC) AS r,
 COUNT(*) OVER (PARTITION BY json_extract(json,'$.category'),
 json_extract(json,'$.currency')) AS n FROM objects WHERE kind='listing')
 WHERE r <= 1024;

-- ---- meta: the epoch, the fleet, the next id of each kind (db.c, mkt_new_id) ----------
INSERT INTO meta(key, value) VALUES ('epoch', '5ca1e0f1d7e00014');
INSERT INTO meta(key, value) SELECT 'fleet', printf('{"version":1,"status":"running",'
  || '"reason":null,"by":null,"updated_at":"%s"}',
  strftime('%Y-%m-%dT%H:%M:%fZ', t0 / 1000.0 - 86400, 'unixepoch')) FROM cfg;
INSERT INTO meta(key, value) SELECT 'next:agt_', nagents + 1 FROM cfg;
INSERT INTO meta(key, value) SELECT 'next:lst_', n + 1 FROM cfg;
INSERT INTO meta(key, value) SELECT 'next:neg_', n + 1 FROM cfg;
INSERT INTO meta(key, value) SELECT 'next:pur_', n - nopen + 1 FROM cfg;
INSERT INTO meta(key, value) SELECT 'next:led_', nledger + 1 FROM cfg;
INSERT INTO meta(key, value) SELECT 'next:alr_', n - nopen - npend + 2 * npend + 1 FROM cfg;
INSERT INTO meta(key, value) SELECT 'next:dec_', nagents + n - nopen - npend + 1 FROM cfg;

-- ---- the indexes of migrations 1 and 3, made once over the data ----------------------
CREATE INDEX objects_kind_status ON objects(kind, status, ord);
CREATE INDEX objects_p1 ON objects(kind, p1, ord);
CREATE INDEX objects_p2 ON objects(kind, p2, ord);
CREATE INDEX objects_due ON objects(due) WHERE due IS NOT NULL;
CREATE INDEX messages_from ON messages(from_id, at);
CREATE INDEX idem_at ON idem(at);
CREATE INDEX objects_open_listings ON objects(p1) WHERE kind='listing' AND status='open';

PRAGMA user_version=3;
COMMIT;
