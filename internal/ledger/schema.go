package ledger

// migration is one numbered schema step, written once per database.
type migration struct{ sqlite, postgres string }

// migrations is the ledger's schema, one numbered step per entry, applied in
// order and recorded as the ledger's version: SQLite's user_version, or the
// one row of schema_version in PostgreSQL (the same numbers). Append only:
// never edit a step that has shipped.
var migrations = []migration{
	// 1: students, limits, prices, settings, the request ledger and the switch log.
	{sqlite: `CREATE TABLE students (
		name       TEXT PRIMARY KEY,
		token_hash TEXT UNIQUE,              -- SHA-256 of a standalone token; NULL for hub users
		teacher    INTEGER NOT NULL DEFAULT 0,
		created_at INTEGER NOT NULL,         -- unix milliseconds
		revoked_at INTEGER,
		paused     INTEGER NOT NULL DEFAULT 0
	);
	-- Limits per student (scope = name) and the class defaults (scope = '*').
	-- NULL: inherit the default; 0: no limit.
	CREATE TABLE limits (
		scope               TEXT PRIMARY KEY,
		tokens_per_day      INTEGER,
		usd_per_day         REAL,
		tokens_total        INTEGER,
		usd_total           REAL,
		requests_per_minute INTEGER,
		concurrent_streams  INTEGER
	);
	INSERT INTO limits (scope, tokens_per_day, usd_per_day, tokens_total, usd_total, requests_per_minute, concurrent_streams)
		VALUES ('*', 0, 0, 0, 0, 30, 3);
	-- USD per million tokens; model '*' prices any model not listed.
	CREATE TABLE prices (
		model               TEXT PRIMARY KEY,
		input_usd_per_mtok  REAL NOT NULL,
		output_usd_per_mtok REAL NOT NULL
	);
	CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
	INSERT INTO settings VALUES ('paused_all', '0'), ('reserve_output_tokens', '1024'), ('reserve_min_usd', '0.01');
	-- One row per answer: 'open' while it streams (holding a reservation),
	-- then settled once with what it really used.
	CREATE TABLE requests (
		id              INTEGER PRIMARY KEY,
		student         TEXT NOT NULL,
		day             TEXT NOT NULL,      -- YYYY-MM-DD in the gateway's time zone
		started_at      INTEGER NOT NULL,
		ended_at        INTEGER,
		path            TEXT NOT NULL,
		model           TEXT NOT NULL DEFAULT '',
		state           TEXT NOT NULL,      -- open, done, broken, stopped, failed, interrupted
		reserved_tokens INTEGER NOT NULL,
		reserved_usd    REAL NOT NULL,
		input_tokens    INTEGER NOT NULL DEFAULT 0,
		output_tokens   INTEGER NOT NULL DEFAULT 0,
		cost_usd        REAL NOT NULL DEFAULT 0,
		estimated       INTEGER NOT NULL DEFAULT 0, -- 1: no usage arrived, charged what streamed
		status          INTEGER NOT NULL DEFAULT 0  -- upstream HTTP status
	);
	CREATE INDEX requests_by_student_day ON requests (student, day);
	CREATE INDEX requests_by_start ON requests (started_at);
	CREATE INDEX requests_open ON requests (state) WHERE state = 'open';
	-- Every switch the teacher flips: pause, resume, limits, prices, tokens.
	CREATE TABLE switches (
		id   INTEGER PRIMARY KEY,
		at   INTEGER NOT NULL,
		who  TEXT NOT NULL,
		what TEXT NOT NULL
	);`, postgres: pgSchema1},
	// 2: no negative tokens or dollars in the ledger (SQLite adds CHECKs only
	// by rebuilding a table: the rows are copied, a negative value, which only
	// an overflowed reservation could leave, as 0), and default prices.
	{sqlite: `CREATE TABLE requests_new (
		id              INTEGER PRIMARY KEY,
		student         TEXT NOT NULL,
		day             TEXT NOT NULL,
		started_at      INTEGER NOT NULL,
		ended_at        INTEGER,
		path            TEXT NOT NULL,
		model           TEXT NOT NULL DEFAULT '',
		state           TEXT NOT NULL,
		reserved_tokens INTEGER NOT NULL CHECK (reserved_tokens >= 0),
		reserved_usd    REAL NOT NULL CHECK (reserved_usd >= 0),
		input_tokens    INTEGER NOT NULL DEFAULT 0 CHECK (input_tokens >= 0),
		output_tokens   INTEGER NOT NULL DEFAULT 0 CHECK (output_tokens >= 0),
		cost_usd        REAL NOT NULL DEFAULT 0 CHECK (cost_usd >= 0),
		estimated       INTEGER NOT NULL DEFAULT 0,
		status          INTEGER NOT NULL DEFAULT 0
	);
	INSERT INTO requests_new SELECT id, student, day, started_at, ended_at, path, model, state,
		MAX(reserved_tokens, 0), MAX(reserved_usd, 0), MAX(input_tokens, 0), MAX(output_tokens, 0), MAX(cost_usd, 0),
		estimated, status FROM requests;
	DROP TABLE requests;
	ALTER TABLE requests_new RENAME TO requests;
	CREATE INDEX requests_by_student_day ON requests (student, day);
	CREATE INDEX requests_by_start ON requests (started_at);
	CREATE INDEX requests_open ON requests (state) WHERE state = 'open';
	CREATE TABLE limits_new (
		scope               TEXT PRIMARY KEY,
		tokens_per_day      INTEGER CHECK (tokens_per_day >= 0),
		usd_per_day         REAL CHECK (usd_per_day >= 0),
		tokens_total        INTEGER CHECK (tokens_total >= 0),
		usd_total           REAL CHECK (usd_total >= 0),
		requests_per_minute INTEGER CHECK (requests_per_minute >= 0),
		concurrent_streams  INTEGER CHECK (concurrent_streams >= 0)
	);
	INSERT INTO limits_new SELECT scope, MAX(tokens_per_day, 0), MAX(usd_per_day, 0), MAX(tokens_total, 0), MAX(usd_total, 0),
		MAX(requests_per_minute, 0), MAX(concurrent_streams, 0) FROM limits;
	DROP TABLE limits;
	ALTER TABLE limits_new RENAME TO limits;
	CREATE TABLE prices_new (
		model               TEXT PRIMARY KEY,
		input_usd_per_mtok  REAL NOT NULL CHECK (input_usd_per_mtok >= 0),
		output_usd_per_mtok REAL NOT NULL CHECK (output_usd_per_mtok >= 0)
	);
	INSERT INTO prices_new SELECT model, MAX(input_usd_per_mtok, 0), MAX(output_usd_per_mtok, 0) FROM prices;
	DROP TABLE prices;
	ALTER TABLE prices_new RENAME TO prices;
	-- Default prices (USD per million tokens) from Perplexity's public
	-- pricing, so that an answer cut before its reported cost is still
	-- charged. Defaults only: the teacher changes any with "streamdemo
	-- gateway price"; rows already set are kept. Presets run several models
	-- and tools: priced here as their dearest models, on the high side.
	INSERT OR IGNORE INTO prices VALUES ` + defaultPrices + `;`, postgres: pgSchema2},
	// 3: the teacher page's sessions, shared by the gateways on one ledger:
	// found by the SHA-256 of the cookie's id, the token sealed with a key
	// only the cookie gives (sessions.go).
	{sqlite: sessionsTable("INTEGER"), postgres: sessionsTable("BIGINT")},
	// 4: replicas on one PostgreSQL ledger: which replica opened each answer
	// (0: none), and each replica's lease (lease.go). SQLite has one
	// gateway and never fills them.
	{sqlite: replicasTable("INTEGER"), postgres: replicasTable("BIGINT")},
	// 5: admission in one round trip. The class's version, bumped first by
	// every teacher's change in the transaction that makes it: a gateway
	// caches the settings, prices, limits and models behind it and checks it
	// in every reservation (class.go). What each student's answers hold, by
	// day (open ones at their reservations, settled ones as charged), kept
	// by triggers in the transaction of every change to requests, so that a
	// reservation reads a few rows, not all her answers. Her requests by
	// start, for the rate limit.
	{sqlite: admissionTables("INTEGER", "REAL", " WITHOUT ROWID") + sqliteCharges, postgres: admissionTables("BIGINT", "DOUBLE PRECISION", "") + pgCharges},
}

func admissionTables(integer, real, withoutRowid string) string {
	return `CREATE TABLE class_version (version ` + integer + ` NOT NULL);
	INSERT INTO class_version VALUES (1);
	CREATE TABLE charges (
		student TEXT NOT NULL,
		day     TEXT NOT NULL,
		open    ` + integer + ` NOT NULL DEFAULT 0, -- answers streaming
		tokens  ` + integer + ` NOT NULL DEFAULT 0,
		usd     ` + real + ` NOT NULL DEFAULT 0,
		PRIMARY KEY (student, day)
	)` + withoutRowid + `;
	INSERT INTO charges (student, day, open, tokens, usd)
		SELECT student, day, SUM(CASE WHEN state = 'open' THEN 1 ELSE 0 END), SUM(` + chargedTokens("") + `), SUM(` + chargedUSD("") + `)
		FROM requests GROUP BY student, day;
	CREATE INDEX requests_by_student_start ON requests (student, started_at);
	DROP INDEX requests_by_student_day;
	DROP INDEX requests_by_start;`
}

// chargedTokens and chargedUSD are what a request row (of prefix, e.g.
// "OLD.") holds of its student's budget: an open answer its reservation,
// a settled one what it was charged.
func chargedTokens(row string) string {
	return `CASE ` + row + `state WHEN 'open' THEN ` + row + `reserved_tokens ELSE ` + row + `input_tokens + ` + row + `output_tokens END`
}

func chargedUSD(row string) string {
	return `CASE ` + row + `state WHEN 'open' THEN ` + row + `reserved_usd ELSE ` + row + `cost_usd END`
}

func openFlag(row string) string { return `CASE WHEN ` + row + `state = 'open' THEN 1 ELSE 0 END` }

// takeOff is the statement that takes what the request row OLD held off
// its student's charges; addOn the one that adds what NEW holds.
var (
	takeOff = `UPDATE charges SET open = open - ` + openFlag("OLD.") + `, tokens = tokens - (` + chargedTokens("OLD.") + `),
		usd = usd - (` + chargedUSD("OLD.") + `) WHERE student = OLD.student AND day = OLD.day;`
	addOn = `INSERT INTO charges (student, day, open, tokens, usd)
		VALUES (NEW.student, NEW.day, ` + openFlag("NEW.") + `, ` + chargedTokens("NEW.") + `, ` + chargedUSD("NEW.") + `)
		ON CONFLICT (student, day) DO UPDATE
		SET open = charges.open + excluded.open, tokens = charges.tokens + excluded.tokens, usd = charges.usd + excluded.usd;`
)

// sqliteCharges are the triggers that keep charges in SQLite: what a row
// held is taken off, what it holds now is added.
var sqliteCharges = `
	CREATE TRIGGER requests_charge_insert AFTER INSERT ON requests BEGIN ` + addOn + ` END;
	CREATE TRIGGER requests_charge_update AFTER UPDATE ON requests BEGIN ` + takeOff + addOn + ` END;
	CREATE TRIGGER requests_charge_delete AFTER DELETE ON requests BEGIN ` + takeOff + ` END;`

// pgCharges is the same in PostgreSQL: one function for the three.
var pgCharges = `
	CREATE FUNCTION requests_charge() RETURNS trigger LANGUAGE plpgsql AS $fn$
	BEGIN
		IF TG_OP IN ('UPDATE', 'DELETE') THEN ` + takeOff + ` END IF;
		IF TG_OP IN ('INSERT', 'UPDATE') THEN ` + addOn + ` END IF;
		RETURN NULL;
	END $fn$;
	CREATE TRIGGER requests_charge AFTER INSERT OR UPDATE OR DELETE ON requests FOR EACH ROW EXECUTE FUNCTION requests_charge();`

func replicasTable(integer string) string {
	return `ALTER TABLE requests ADD COLUMN replica ` + integer + ` NOT NULL DEFAULT 0;
	CREATE TABLE replicas (
		id         ` + integer + ` PRIMARY KEY,
		started_at ` + integer + ` NOT NULL,  -- unix milliseconds, by the database's clock
		renewed_at ` + integer + ` NOT NULL,
		expires_at ` + integer + ` NOT NULL
	);`
}

func sessionsTable(integer string) string {
	return `CREATE TABLE sessions (
		id_hash      TEXT PRIMARY KEY,
		name         TEXT NOT NULL,
		sealed_token TEXT NOT NULL,
		started      ` + integer + ` NOT NULL,
		seen         ` + integer + ` NOT NULL
	);`
}

// defaultPrices are the rows migration 2 adds to prices.
const defaultPrices = `('sonar', 1, 1), ('sonar-pro', 3, 15), ('sonar-reasoning', 1, 5), ('sonar-reasoning-pro', 2, 8),
		('sonar-deep-research', 2, 8), ('perplexity/sonar', 0.25, 2.5),
		('preset/fast-search', 2, 12), ('preset/fast', 2, 12), ('preset/low', 2, 12),
		('preset/pro-search', 3, 15), ('preset/medium', 3, 15),
		('preset/deep-research', 5, 25), ('preset/advanced-deep-research', 5, 25), ('preset/wide-research', 5, 25),
		('preset/high', 5, 25), ('preset/xhigh', 5, 25)`

// The PostgreSQL text of migrations 1 and 2: the same tables as SQLite's,
// with 64-bit integers (unix milliseconds) and double precision.
const (
	pgSchema1 = `CREATE TABLE students (
		name       TEXT PRIMARY KEY,
		token_hash TEXT UNIQUE,
		teacher    BIGINT NOT NULL DEFAULT 0,
		created_at BIGINT NOT NULL,
		revoked_at BIGINT,
		paused     BIGINT NOT NULL DEFAULT 0
	);
	CREATE TABLE limits (
		scope               TEXT PRIMARY KEY,
		tokens_per_day      BIGINT,
		usd_per_day         DOUBLE PRECISION,
		tokens_total        BIGINT,
		usd_total           DOUBLE PRECISION,
		requests_per_minute BIGINT,
		concurrent_streams  BIGINT
	);
	INSERT INTO limits (scope, tokens_per_day, usd_per_day, tokens_total, usd_total, requests_per_minute, concurrent_streams)
		VALUES ('*', 0, 0, 0, 0, 30, 3);
	CREATE TABLE prices (
		model               TEXT PRIMARY KEY,
		input_usd_per_mtok  DOUBLE PRECISION NOT NULL,
		output_usd_per_mtok DOUBLE PRECISION NOT NULL
	);
	CREATE TABLE settings (key TEXT PRIMARY KEY, value TEXT NOT NULL);
	INSERT INTO settings VALUES ('paused_all', '0'), ('reserve_output_tokens', '1024'), ('reserve_min_usd', '0.01');
	CREATE TABLE requests (
		id              BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		student         TEXT NOT NULL,
		day             TEXT NOT NULL,
		started_at      BIGINT NOT NULL,
		ended_at        BIGINT,
		path            TEXT NOT NULL,
		model           TEXT NOT NULL DEFAULT '',
		state           TEXT NOT NULL,
		reserved_tokens BIGINT NOT NULL,
		reserved_usd    DOUBLE PRECISION NOT NULL,
		input_tokens    BIGINT NOT NULL DEFAULT 0,
		output_tokens   BIGINT NOT NULL DEFAULT 0,
		cost_usd        DOUBLE PRECISION NOT NULL DEFAULT 0,
		estimated       BIGINT NOT NULL DEFAULT 0,
		status          BIGINT NOT NULL DEFAULT 0
	);
	CREATE INDEX requests_by_student_day ON requests (student, day);
	CREATE INDEX requests_by_start ON requests (started_at);
	CREATE INDEX requests_open ON requests (state) WHERE state = 'open';
	CREATE TABLE switches (
		id   BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
		at   BIGINT NOT NULL,
		who  TEXT NOT NULL,
		what TEXT NOT NULL
	);`

	pgSchema2 = `UPDATE requests SET reserved_tokens = GREATEST(reserved_tokens, 0), reserved_usd = GREATEST(reserved_usd, 0),
		input_tokens = GREATEST(input_tokens, 0), output_tokens = GREATEST(output_tokens, 0), cost_usd = GREATEST(cost_usd, 0);
	ALTER TABLE requests ADD CHECK (reserved_tokens >= 0), ADD CHECK (reserved_usd >= 0), ADD CHECK (input_tokens >= 0),
		ADD CHECK (output_tokens >= 0), ADD CHECK (cost_usd >= 0);
	UPDATE limits SET tokens_per_day = GREATEST(tokens_per_day, 0), usd_per_day = GREATEST(usd_per_day, 0),
		tokens_total = GREATEST(tokens_total, 0), usd_total = GREATEST(usd_total, 0),
		requests_per_minute = GREATEST(requests_per_minute, 0), concurrent_streams = GREATEST(concurrent_streams, 0);
	ALTER TABLE limits ADD CHECK (tokens_per_day >= 0), ADD CHECK (usd_per_day >= 0), ADD CHECK (tokens_total >= 0),
		ADD CHECK (usd_total >= 0), ADD CHECK (requests_per_minute >= 0), ADD CHECK (concurrent_streams >= 0);
	UPDATE prices SET input_usd_per_mtok = GREATEST(input_usd_per_mtok, 0), output_usd_per_mtok = GREATEST(output_usd_per_mtok, 0);
	ALTER TABLE prices ADD CHECK (input_usd_per_mtok >= 0), ADD CHECK (output_usd_per_mtok >= 0);
	INSERT INTO prices VALUES ` + defaultPrices + ` ON CONFLICT (model) DO NOTHING;`
)
