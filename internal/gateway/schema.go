package gateway

// migrations is the ledger's schema, one numbered step per entry, applied in
// order and recorded in SQLite's user_version. Append only: never edit a step
// that has shipped.
var migrations = []string{
	// 1: students, limits, prices, settings, the request ledger and the switch log.
	`CREATE TABLE students (
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
	);`,
}
