// Package config reads egressguard's TOML configuration. Parse decodes the
// text over the defaults, rejects unknown keys (typos must not silently
// turn a control off), validates every value and reports all problems at
// once, each with its key, its line and a hint.
//
// The package is a leaf: it looks at the text only. It reads no file (not
// the config file, nor the keys, certificates, passwords or time zone
// database it names), opens no store and compiles no rules; the app
// package does that where it builds the guard (app.LoadConfig), and
// reports those problems in the same list.
package config

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/BurntSushi/toml"

	"github.com/egressguard/egressguard/internal/policy"
	"github.com/egressguard/egressguard/internal/problem"
	"github.com/egressguard/egressguard/internal/route"
	"github.com/egressguard/egressguard/internal/sharelink"
	"github.com/egressguard/egressguard/internal/tz"
)

// DefaultPath is the config file used when none is named.
const DefaultPath = "config/egressguard.toml"

// Config is the whole configuration. Field comments name the TOML key;
// config/egressguard.toml documents every key.
type Config struct {
	Hostname string `toml:"hostname"` // SMTP greeting and EHLO name; default: the machine's host name
	DataDir  string `toml:"data_dir"` // store, outbox; relative paths are relative to the config file
	Instance string `toml:"instance"` // stable name of this instance in a shared store; default: hostname
	// TimeZone is the IANA zone in which people read times (console,
	// notices, CLI); default: the server's zone.
	TimeZone string `toml:"time_zone"`

	Log      Log        `toml:"log"`
	SMTP     SMTP       `toml:"smtp"`
	Upstream Upstream   `toml:"upstream"`
	Store    Store      `toml:"store"`
	Retain   Retention  `toml:"retention"`
	HTTP     HTTP       `toml:"http"`
	Inspect  Inspect    `toml:"inspect"`
	Policy   Policy     `toml:"policy"`
	Share    ShareLinks `toml:"sharelink"`
	Hold     Hold       `toml:"hold"`
	Delay    Delay      `toml:"delay"`
	Confirm  Confirm    `toml:"confirm"`
	Notify   Notify     `toml:"notify"`
	Console  Console    `toml:"console"`
	Route    Route      `toml:"route"`
	Incident Incident   `toml:"incident"`
	Audit    Audit      `toml:"audit"`
	Seed     []SeedUser `toml:"seed_user"`

	// Zone is TimeZone, loaded (from the zone database) where the config
	// is loaded whole: app.LoadConfig.
	Zone tz.Zone `toml:"-"`

	// Dir is the directory of the config file (not a TOML key); relative
	// paths in the file are resolved against it.
	Dir string `toml:"-"`

	lines lineIndex // where each key is written, for Line
}

// Incident configures incident records: the reporting deadlines to the
// Personal Information Protection Commission and the reminders of them.
type Incident struct {
	PreliminaryDays   int      `toml:"preliminary_days"`    // 速報: days after awareness (default 5)
	FinalDays         int      `toml:"final_days"`          // 確報: days after awareness (default 30)
	FinalDaysWrongful int      `toml:"final_days_wrongful"` // 確報 when a wrongful act caused it (default 60)
	RemindBefore      Duration `toml:"remind_before"`       // first reminder this long before a deadline (default 48h)
	RemindInterval    Duration `toml:"remind_interval"`     // how often deadlines are checked (default 10m)
}

// Log configures the structured log.
type Log struct {
	Level  string `toml:"level"`  // debug, info, warn, error
	Format string `toml:"format"` // json or console
}

// SMTP configures the submission listener.
type SMTP struct {
	Listen            string   `toml:"listen"`
	ImplicitTLSListen string   `toml:"implicit_tls_listen"` // "" disables; needs tls_cert
	TLSCert           string   `toml:"tls_cert"`
	TLSKey            string   `toml:"tls_key"`
	RequireTLSForAuth *bool    `toml:"require_tls_for_auth"` // default: true when TLS is configured
	TrustedNetworks   []string `toml:"trusted_networks"`
	MaxMessageSize    Size     `toml:"max_message_size"`
	MaxRecipients     int      `toml:"max_recipients"`
	MaxLineLength     int      `toml:"max_line_length"`
	CommandTimeout    Duration `toml:"command_timeout"`
	DataTimeout       Duration `toml:"data_timeout"`
	MaxConnections    int      `toml:"max_connections"`
	MaxConnectionsIP  int      `toml:"max_connections_per_ip"`
	AuthFailDelay     Duration `toml:"auth_fail_delay"`
	MaxAuthFailures   int      `toml:"max_auth_failures"`
	AuthFailWindow    Duration `toml:"auth_fail_window"`
	// MaxAuthFailuresUser limits failed AUTH per user name (from any
	// address) within auth_fail_window; addresses the user logged in
	// from successfully are exempt.
	MaxAuthFailuresUser int `toml:"max_auth_failures_per_user"`
	// EnforceHeaderFrom: an authenticated sender's header From must be
	// one of the account's addresses. Default true.
	EnforceHeaderFrom *bool `toml:"enforce_header_from"`
	MaxHops           int   `toml:"max_hops"` // refuse mail with this many Received: fields (a loop)
	// MemoryBudget bounds the bytes of received message bodies longer
	// than the spool threshold (256 KiB) held in memory at once for
	// inspection and storing, however many sessions run; they are spooled
	// to DATA_DIR/spool while received. Shorter messages and delivery are
	// bounded by connections and delivery slots instead.
	MemoryBudget Size `toml:"memory_budget"`

	// Parsed forms, filled by Load.
	Trusted   []netip.Prefix `toml:"-"`
	TLSConfig *tls.Config    `toml:"-"`
}

// Upstream configures delivery to the smarthost.
type Upstream struct {
	Address            string   `toml:"address"`    // host:port; empty: write to outbox_dir
	OutboxDir          string   `toml:"outbox_dir"` // default: DATA_DIR/outbox
	TLS                string   `toml:"tls"`        // required, opportunistic, none
	TLSServerName      string   `toml:"tls_server_name"`
	CAFile             string   `toml:"ca_file"`
	AuthUser           string   `toml:"auth_user"`
	AuthPassword       string   `toml:"auth_password"`
	AuthPasswordFile   string   `toml:"auth_password_file"`
	ConnectTimeout     Duration `toml:"connect_timeout"`
	CommandTimeout     Duration `toml:"command_timeout"`
	DataTimeout        Duration `toml:"data_timeout"`
	Concurrency        int      `toml:"concurrency"`
	MaxAge             Duration `toml:"max_age"`
	BackoffMin         Duration `toml:"backoff_min"`
	BackoffMax         Duration `toml:"backoff_max"`
	Lease              Duration `toml:"lease"`
	InsecureSkipVerify bool     `toml:"insecure_skip_verify"`
}

// Store selects and configures the persistent store.
type Store struct {
	Driver string `toml:"driver"` // sqlite (default) or postgres
	Path   string `toml:"path"`   // sqlite: database file, default DATA_DIR/egressguard.db
	DSN    string `toml:"dsn"`    // postgres: connection string
	// KeyFile names the key file for encrypting message bodies at rest
	// (AES-256-GCM; see `egressguard keygen`). Empty: bodies are stored
	// in the clear.
	KeyFile string `toml:"key_file"`
}

// Retention says how long the guard keeps what it stores.
type Retention struct {
	DeliveredBody Duration `toml:"delivered_body"` // bytes of delivered and bounced mail
	DecidedBody   Duration `toml:"decided_body"`   // bytes of rejected, expired, withdrawn mail
	Audit         Duration `toml:"audit"`          // audit entries
	// Correspondents: how long the record of who received delivered mail
	// keeps a sender→recipient pair after its last delivery; 0 keeps it
	// for ever.
	Correspondents Duration `toml:"correspondents"`
	Interval       Duration `toml:"interval"` // how often the purge runs
}

// HTTP configures the metrics and health listener.
type HTTP struct {
	Listen string `toml:"listen"` // "" disables it
	Pprof  bool   `toml:"pprof"`  // also serve /debug/pprof/ (profiles) there
}

// Inspect bounds the work spent on one message.
type Inspect struct {
	MaxDepth       int      `toml:"max_depth"`
	MaxParts       int      `toml:"max_parts"`
	MaxDecodedSize Size     `toml:"max_decoded_size"`
	MaxTime        Duration `toml:"max_time"`
	// Attachments: archives within archives, entries of archives and
	// documents, and the decompressed/compressed size of one entry or
	// stream (zip bombs).
	MaxArchiveDepth     int `toml:"max_archive_depth"`
	MaxArchiveEntries   int `toml:"max_archive_entries"`
	MaxCompressionRatio int `toml:"max_compression_ratio"`
}

// Policy holds the organisation's domains, the allowlist seeded from the
// config, and the rules.
type Policy struct {
	InternalDomains []string `toml:"internal_domains"`
	Allow           []string `toml:"allow"`
	// DefaultRules includes the built-in rules (policy.DefaultRules) before
	// the rules below; a rule below with the same name replaces the
	// built-in one. false: only the rules below apply.
	DefaultRules *bool             `toml:"default_rules"`
	Rules        []policy.RuleSpec `toml:"rule"`
	Lookalike    Lookalike         `toml:"lookalike"`
}

// Lookalike tunes the look-alike recipient check (rule condition
// recipient_lookalike).
type Lookalike struct {
	// ExtraDomains are trusted like the built-in free-mail, ISP and
	// carrier domains: a domain that resembles one is a look-alike.
	ExtraDomains []string `toml:"extra_domains"`
	// CorrespondentMinMessages: a recipient domain counts as a regular
	// correspondent, trusted for the check, once this many deliveries to
	// it are recorded.
	CorrespondentMinMessages int64 `toml:"correspondent_min_messages"`
}

// ShareLinks extends or overrides the built-in share-link catalogue and
// names the organisation's self-hosted sharing servers.
type ShareLinks struct {
	Providers  []sharelink.ProviderSpec   `toml:"provider"`
	SelfHosted []sharelink.SelfHostedSpec `toml:"self_hosted"`
	// Shorteners extend the built-in list of URL shorteners, whose links
	// are unknown destinations.
	Shorteners []sharelink.ShortenerSpec `toml:"shortener"`
}

// catalog is the share-link catalogue's configuration.
func (s ShareLinks) catalog() sharelink.Config {
	return sharelink.Config{Providers: s.Providers, SelfHosted: s.SelfHosted, Shorteners: s.Shorteners}
}

// Hold configures the four-eyes review of held mail.
type Hold struct {
	Approvals   int      `toml:"approvals"`    // distinct officers needed to release a message
	ExpireAfter Duration `toml:"expire_after"` // undecided held mail expires (is not sent) after this
	// SplitDelivery: when only some recipients make a message wait (hold,
	// delay, confirm), the others are sent it at once. Default true.
	SplitDelivery *bool `toml:"split_delivery"`
	// High-risk holds: the approver types the recipient's domain. A hold
	// is high-risk when a rule named here held it, when it goes to at
	// least HighRiskRecipients recipients that are not internal, or when
	// its verdict carries one of HighRiskSignals (field names).
	HighRiskRules      *[]string `toml:"high_risk_rules"`
	HighRiskRecipients int       `toml:"high_risk_recipients"`
	HighRiskSignals    *[]string `toml:"high_risk_signals"`
	// FastApproval: an approval given within this time of the officer
	// first opening the message counts as fast (approval-quality figures).
	FastApproval Duration `toml:"fast_approval"`
}

// Delay configures delayed sending (action "delay").
type Delay struct {
	// AllExternal, when set, delays every message with an external
	// recipient by this long ("2m"); 0 (default) is off.
	AllExternal Duration `toml:"all_external"`
}

// Confirm configures sender confirmation (action "confirm").
type Confirm struct {
	// ExpireAfter: unconfirmed mail expires (is not sent) after this.
	ExpireAfter Duration `toml:"expire_after"`
	// KeyFile holds the secret (at least 16 bytes) that signs confirmation
	// links; "" uses a random secret the guard keeps in the store.
	KeyFile string `toml:"key_file"`
}

// Split reports whether split delivery is on.
func (h Hold) Split() bool { return h.SplitDelivery == nil || *h.SplitDelivery }

// Notify configures the guard's own notices.
type Notify struct {
	From             string   `toml:"from"`              // sender of notices
	Officers         []string `toml:"officers"`          // told about every new hold
	IncidentContacts []string `toml:"incident_contacts"` // told at once about near misses
	Language         string   `toml:"language"`          // ja or en
	WebhookURL       string   `toml:"webhook_url"`       // optional JSON POST per event
	OfficerDigest    Duration `toml:"officer_digest"`    // 0: one notice per hold; else one digest per period
	DisplayName      string   `toml:"display_name"`      // display name of the notices' From; default per language
	SubjectTag       string   `toml:"subject_tag"`       // before every notice subject; default 【送信保留】 / [Held mail]
	Contact          string   `toml:"contact"`           // whom senders ask; default: officers
	Admins           []string `toml:"admins"`            // get the approval-quality digest
	AdminDigest      Duration `toml:"admin_digest"`      // its period; 0: none
}

// Console configures the web console and API.
type Console struct {
	Listen      string   `toml:"listen"` // "" disables the console
	TLSCert     string   `toml:"tls_cert"`
	TLSKey      string   `toml:"tls_key"`
	BaseURL     string   `toml:"base_url"` // how users reach it; used in notices
	SessionIdle Duration `toml:"session_idle"`
	SessionMax  Duration `toml:"session_max"`

	TLSConfig *tls.Config `toml:"-"`
}

// Route assigns held mail to sender groups (see package route).
type Route struct {
	Groups []RouteGroup `toml:"group"`
}

// RouteGroup is one [[route.group]].
type RouteGroup struct {
	Name          string   `toml:"name"`
	Senders       []string `toml:"senders"`        // user names, addresses, "@domain", or "*"
	Officers      []string `toml:"officers"`       // told about each new hold of the group
	Backup        []string `toml:"backup"`         // told once when a hold waits escalate_after
	EscalateAfter Duration `toml:"escalate_after"` // 0: never
}

// Audit configures the published chain head: signed checkpoints of the
// audit chain, written to the log, appended to a file on other storage and
// sent to the webhook, so that truncating the log is detected.
type Audit struct {
	// CheckpointKeyFile is the Ed25519 signing key (from `egressguard
	// audit keygen`). Empty: no checkpoints.
	CheckpointKeyFile  string   `toml:"checkpoint_key_file"`
	CheckpointFile     string   `toml:"checkpoint_file"`     // JSON Lines, appended; on other storage
	CheckpointInterval Duration `toml:"checkpoint_interval"` // default 1h
}

// SeedUser is an account created at start if it does not exist yet. It is
// meant for the quickstart; serve warns while a seeded password is in use.
type SeedUser struct {
	Name      string   `toml:"name"`
	Password  string   `toml:"password"`
	Roles     []string `toml:"roles"`
	Addresses []string `toml:"addresses"`
}

// Defaults returns the configuration used for every key the file omits.
func Defaults() *Config {
	host, _ := os.Hostname()
	if host == "" {
		host = "localhost"
	}
	return &Config{
		Hostname: host,
		DataDir:  "data",
		Log:      Log{Level: "info", Format: "json"},
		SMTP: SMTP{
			Listen:           "127.0.0.1:2525",
			MaxMessageSize:   Size(25 << 20),
			MaxRecipients:    100,
			MaxLineLength:    4096,
			CommandTimeout:   Duration(5 * 60e9),
			DataTimeout:      Duration(10 * 60e9),
			MaxConnections:   1000,
			MaxConnectionsIP: 100,
			AuthFailDelay:    Duration(1e9),
			MaxAuthFailures:  10,
			AuthFailWindow:   Duration(10 * 60e9),
			MaxHops:          50,
			MemoryBudget:     Size(32 << 20),
			// Higher than per address: one user's failures come
			// from all the addresses an attacker has.
			MaxAuthFailuresUser: 30,
		},
		Upstream: Upstream{
			TLS:            "opportunistic",
			ConnectTimeout: Duration(30e9),
			CommandTimeout: Duration(5 * 60e9),
			DataTimeout:    Duration(10 * 60e9),
			Concurrency:    20,
			MaxAge:         Duration(5 * 24 * 3600e9),
			BackoffMin:     Duration(60e9),
			BackoffMax:     Duration(3600e9),
			Lease:          Duration(60e9),
		},
		Store:   Store{Driver: "sqlite"},
		Policy:  Policy{Lookalike: Lookalike{CorrespondentMinMessages: 2}},
		Hold:    Hold{Approvals: 1, ExpireAfter: Duration(72 * 3600e9), HighRiskRecipients: 10, FastApproval: Duration(10e9)},
		Confirm: Confirm{ExpireAfter: Duration(3600e9)},
		Retain: Retention{
			DecidedBody:    Duration(30 * 24 * 3600e9),
			Audit:          Duration(5 * 365 * 24 * 3600e9),
			Correspondents: Duration(2 * 365 * 24 * 3600e9),
			Interval:       Duration(10 * 60e9),
		},
		Notify: Notify{Language: "ja"},
		Incident: Incident{PreliminaryDays: 5, FinalDays: 30, FinalDaysWrongful: 60,
			RemindBefore: Duration(48 * 3600e9), RemindInterval: Duration(10 * 60e9)},
		Console: Console{
			Listen:      "127.0.0.1:8025",
			SessionIdle: Duration(30 * 60e9),
			SessionMax:  Duration(12 * 3600e9),
		},
		HTTP:  HTTP{Listen: "127.0.0.1:9025"},
		Audit: Audit{CheckpointInterval: Duration(3600e9)},
		Inspect: Inspect{
			MaxDepth:       20,
			MaxParts:       500,
			MaxDecodedSize: Size(32 << 20),
			MaxTime:        Duration(5e9),

			MaxArchiveDepth:     4,
			MaxArchiveEntries:   10000,
			MaxCompressionRatio: 200,
		},
	}
}

// Problem is one thing wrong with a config.
type Problem = problem.Problem

// Error lists every problem found in a config file; Source is the file.
type Error = problem.Error

// Checker collects problems; validators of other packages' sections use it.
type Checker struct {
	problems problem.List
	lines    lineIndex
}

// Add records a problem; its line is looked up from the key.
func (c *Checker) Add(key, what, hint string) {
	c.AddLine(key, c.lines.line(key), what, hint)
}

// AddLine records a problem at a known line.
func (c *Checker) AddLine(key string, line int, what, hint string) {
	c.problems = append(c.problems, Problem{Key: key, Line: line, What: what, Hint: hint})
}

// Parse decodes and validates config text; file names it in errors, dir
// resolves relative paths. The returned error is an *Error listing every
// problem.
//
// Parse checks the text only: it reads no file the config names and builds
// no engine. Whoever builds from the config checks the rest (the key and
// certificate files load, the rules compile); see Decode and Report for
// reporting those problems with these.
func Parse(data []byte, file, dir string) (*Config, error) {
	cfg, probs := Decode(data, file, dir)
	if err := Report(file, probs); err != nil {
		return nil, err
	}
	return cfg, nil
}

// Decode is Parse for callers that add problems of their own: it returns
// the config even when it has problems (nil only when the text is not
// TOML), and the problems found, each with its line.
func Decode(data []byte, file, dir string) (*Config, problem.List) {
	cfg := Defaults()
	cfg.Dir = dir
	c := &Checker{lines: indexLines(string(data))}
	cfg.lines = c.lines
	if err := decodeAll(string(data), cfg, c, c.lines); err != nil {
		// The file is not TOML: the parser stops at the first error.
		var perr toml.ParseError
		if errors.As(err, &perr) {
			key := perr.LastKey
			if key == "" {
				key = "(syntax)"
			}
			c.AddLine(key, perr.Position.Line, perr.Message, "fix the TOML syntax")
		} else {
			c.Add("(file)", err.Error(), "fix the TOML syntax")
		}
		return nil, c.problems
	}
	cfg.validate(c)
	return cfg, c.problems
}

// Line returns the line of the config file key is written on (or the
// line of the nearest enclosing table); 0 if not known.
func (cfg *Config) Line(key string) int { return cfg.lines.line(key) }

// Report returns the problems of file as an *Error in the order of the
// file, problems without a line (a missing key) last; nil if there are
// none.
func Report(file string, probs problem.List) error {
	probs.SortByLine()
	return probs.Err(file, nil)
}

// Path resolves a path from the config file against its directory.
func (cfg *Config) Path(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(cfg.Dir, p)
}

func (cfg *Config) validate(c *Checker) {
	if cfg.Hostname == "" {
		c.Add("hostname", "must not be empty", "the name this guard greets with, e.g. \"relay.example.jp\"")
	}
	if cfg.DataDir == "" {
		c.Add("data_dir", "must not be empty", "a directory for the store and outbox, e.g. \"data\"")
	}
	if cfg.Instance == "" {
		cfg.Instance = cfg.Hostname
	}
	switch cfg.Log.Level {
	case "debug", "info", "warn", "error":
	default:
		c.Add("log.level", fmt.Sprintf("unknown level %q", cfg.Log.Level), "one of debug, info, warn, error")
	}
	switch cfg.Log.Format {
	case "json", "console":
	default:
		c.Add("log.format", fmt.Sprintf("unknown format %q", cfg.Log.Format), "json or console")
	}
	cfg.validateSMTP(c)
	cfg.validateUpstream(c)
	switch cfg.Store.Driver {
	case "sqlite":
		if cfg.Store.Path == "" {
			cfg.Store.Path = filepath.Join(cfg.DataDir, "egressguard.db")
		}
	case "postgres":
		if cfg.Store.DSN == "" {
			c.Add("store.dsn", "required for driver \"postgres\"", "e.g. \"postgres://egressguard@db.internal/egressguard\"")
		}
	default:
		c.Add("store.driver", fmt.Sprintf("unknown driver %q", cfg.Store.Driver), "sqlite or postgres")
	}
	if cfg.Audit.CheckpointKeyFile == "" && cfg.Audit.CheckpointFile != "" {
		c.Add("audit.checkpoint_file", "set but no checkpoint_key_file", "set audit.checkpoint_key_file to sign checkpoints")
	}
	positive(c, "audit.checkpoint_interval", int(min(cfg.Audit.CheckpointInterval, 1<<40)))
	if cfg.Retain.DeliveredBody < 0 || cfg.Retain.DecidedBody < 0 {
		c.Add("retention", "negative retention", "0 deletes at once")
	}
	positive(c, "retention.audit", int(min(cfg.Retain.Audit, 1<<40)))
	positive(c, "retention.interval", int(min(cfg.Retain.Interval, 1<<40)))
	if cfg.HTTP.Listen != "" {
		checkHostPort(c, "http.listen", cfg.HTTP.Listen)
	}
	positive(c, "inspect.max_depth", cfg.Inspect.MaxDepth)
	positive(c, "inspect.max_parts", cfg.Inspect.MaxParts)
	positive(c, "inspect.max_decoded_size", int(min(cfg.Inspect.MaxDecodedSize, 1<<40)))
	positive(c, "inspect.max_time", int(min(cfg.Inspect.MaxTime, 1<<40)))
	positive(c, "inspect.max_archive_depth", cfg.Inspect.MaxArchiveDepth)
	positive(c, "inspect.max_archive_entries", cfg.Inspect.MaxArchiveEntries)
	positive(c, "inspect.max_compression_ratio", cfg.Inspect.MaxCompressionRatio)
	cfg.validateHold(c)
	positive(c, "incident.preliminary_days", cfg.Incident.PreliminaryDays)
	positive(c, "incident.final_days", cfg.Incident.FinalDays)
	positive(c, "incident.final_days_wrongful", cfg.Incident.FinalDaysWrongful)
	positive(c, "incident.remind_before", int(min(cfg.Incident.RemindBefore, 1<<40)))
	positive(c, "incident.remind_interval", int(min(cfg.Incident.RemindInterval, 1<<40)))
	if cfg.Retain.Correspondents < 0 {
		c.Add("retention.correspondents", "negative", "a duration such as \"730d\"; 0 keeps the record for ever")
	}
	if cfg.Policy.Lookalike.CorrespondentMinMessages < 1 {
		c.Add("policy.lookalike.correspondent_min_messages", "must be 1 or more", "e.g. 2: a domain mailed twice is a regular correspondent")
	}
	for i, u := range cfg.Seed {
		key := fmt.Sprintf("seed_user[%d]", i)
		if u.Name == "" {
			c.Add(key+".name", "must not be empty", "the login name")
		}
		if len(u.Password) < 8 {
			c.Add(key+".password", "shorter than 8 characters", "choose a longer password")
		}
		for _, r := range u.Roles {
			if r != "sender" && r != "officer" && r != "admin" {
				c.Add(key+".roles", fmt.Sprintf("unknown role %q", r), "sender, officer or admin")
			}
		}
		for _, a := range u.Addresses {
			if !validAddress(a) {
				c.Add(key+".addresses", fmt.Sprintf("%q is not an address", a), "e.g. \"alice@example.jp\"")
			}
		}
	}
}

func (cfg *Config) validateSMTP(c *Checker) {
	s := &cfg.SMTP
	checkHostPort(c, "smtp.listen", s.Listen)
	if s.ImplicitTLSListen != "" {
		checkHostPort(c, "smtp.implicit_tls_listen", s.ImplicitTLSListen)
		if s.TLSCert == "" {
			c.Add("smtp.implicit_tls_listen", "needs a TLS certificate", "set smtp.tls_cert and smtp.tls_key, or remove this key")
		} else if s.ImplicitTLSListen == s.Listen && !strings.HasSuffix(s.Listen, ":0") {
			c.Add("smtp.implicit_tls_listen", "the same address as smtp.listen", "implicit TLS needs a port of its own, usually 465")
		}
	}
	for i, n := range s.TrustedNetworks {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			a, aerr := netip.ParseAddr(n)
			if aerr != nil {
				c.Add(fmt.Sprintf("smtp.trusted_networks[%d]", i), fmt.Sprintf("%q is not a CIDR prefix", n), "e.g. \"10.1.0.0/16\" or \"192.0.2.7\"")
				continue
			}
			p = netip.PrefixFrom(a, a.BitLen())
		}
		s.Trusted = append(s.Trusted, p.Masked())
	}
	if (s.TLSCert == "") != (s.TLSKey == "") {
		c.Add("smtp.tls_cert", "tls_cert and tls_key must be given together", "set both or neither")
	}
	if s.RequireTLSForAuth == nil {
		v := s.TLSCert != ""
		s.RequireTLSForAuth = &v
	} else if *s.RequireTLSForAuth && s.TLSCert == "" {
		c.Add("smtp.require_tls_for_auth", "true but no TLS certificate is configured", "set smtp.tls_cert and smtp.tls_key, or set this to false")
	}
	positive(c, "smtp.max_message_size", int(min(s.MaxMessageSize, 1<<40)))
	positive(c, "smtp.max_recipients", s.MaxRecipients)
	if s.MaxLineLength < 1000 {
		c.Add("smtp.max_line_length", fmt.Sprintf("%d is below 1000", s.MaxLineLength), "RFC 5321 requires at least 1000 octets per line")
	}
	positive(c, "smtp.command_timeout", int(min(s.CommandTimeout, 1<<40)))
	positive(c, "smtp.data_timeout", int(min(s.DataTimeout, 1<<40)))
	positive(c, "smtp.max_connections", s.MaxConnections)
	positive(c, "smtp.max_connections_per_ip", s.MaxConnectionsIP)
	positive(c, "smtp.max_auth_failures", s.MaxAuthFailures)
	positive(c, "smtp.max_auth_failures_per_user", s.MaxAuthFailuresUser)
	positive(c, "smtp.max_hops", s.MaxHops)
	if s.MemoryBudget < 1<<20 {
		c.Add("smtp.memory_budget", fmt.Sprintf("%d bytes is below 1MiB", int64(s.MemoryBudget)),
			"give at least a few times the usual message size, e.g. \"32MiB\"")
	}
	if s.EnforceHeaderFrom == nil {
		v := true
		s.EnforceHeaderFrom = &v
	}
}

func (cfg *Config) validateUpstream(c *Checker) {
	u := &cfg.Upstream
	if u.Address != "" {
		checkHostPort(c, "upstream.address", u.Address)
	}
	if u.OutboxDir == "" {
		u.OutboxDir = filepath.Join(cfg.DataDir, "outbox")
	}
	switch u.TLS {
	case "required", "opportunistic", "none":
	default:
		c.Add("upstream.tls", fmt.Sprintf("unknown mode %q", u.TLS), "required, opportunistic or none")
	}
	if u.AuthPassword != "" && u.AuthPasswordFile != "" {
		c.Add("upstream.auth_password", "both auth_password and auth_password_file are set", "keep one; a file keeps the secret out of the config")
	}
	// A password read from auth_password_file is checked against the user
	// where the file is read.
	if u.AuthUser == "" && u.AuthPassword != "" {
		c.Add("upstream.auth_user", "a password is set but no user", "set auth_user")
	}
	positive(c, "upstream.concurrency", u.Concurrency)
	positive(c, "upstream.connect_timeout", int(min(u.ConnectTimeout, 1<<40)))
	positive(c, "upstream.command_timeout", int(min(u.CommandTimeout, 1<<40)))
	positive(c, "upstream.data_timeout", int(min(u.DataTimeout, 1<<40)))
	positive(c, "upstream.max_age", int(min(u.MaxAge, 1<<40)))
	positive(c, "upstream.backoff_min", int(min(u.BackoffMin, 1<<40)))
	if u.BackoffMax < u.BackoffMin {
		c.Add("upstream.backoff_max", "smaller than backoff_min", "e.g. backoff_min = \"1m\", backoff_max = \"1h\"")
	}
	// Claims are renewed every lease/3 while their attempt runs, so the
	// lease need not outlast an attempt (connect, commands, data); it must
	// only outlast a slow store write or two.
	if u.Lease.D() < 3e9 {
		c.Add("upstream.lease", "shorter than 3s", "claims are renewed every third of the lease while an attempt runs; e.g. \"1m\"")
	}
}

func (cfg *Config) validateHold(c *Checker) {
	positive(c, "hold.approvals", cfg.Hold.Approvals)
	if cfg.Hold.HighRiskRecipients < 0 {
		c.Add("hold.high_risk_recipients", "must not be negative", "0 turns the recipient count off, e.g. 10")
	}
	positive(c, "hold.expire_after", int(min(cfg.Hold.ExpireAfter, 1<<40)))
	positive(c, "confirm.expire_after", int(min(cfg.Confirm.ExpireAfter, 1<<40)))
	if cfg.Delay.AllExternal < 0 {
		c.Add("delay.all_external", "negative", "a duration such as \"2m\", or \"0s\" for off")
	}
	n := &cfg.Notify
	if n.From == "" {
		// Derived, not checked: a single-label host name is fine here.
		n.From = "egressguard@" + cfg.Hostname
	} else if !validAddress(n.From) {
		c.Add("notify.from", fmt.Sprintf("%q is not an address", n.From), "e.g. \"egressguard@example.jp\"")
	}
	if n.AdminDigest < 0 || (n.AdminDigest > 0 && n.AdminDigest.D() < time.Hour) {
		c.Add("notify.admin_digest", "must be 0 or at least one hour", "e.g. \"168h\" (weekly)")
	}
	for key, list := range map[string][]string{"notify.officers": n.Officers, "notify.incident_contacts": n.IncidentContacts, "notify.admins": n.Admins} {
		for _, a := range list {
			if !validAddress(a) {
				c.Add(key, fmt.Sprintf("%q is not an address", a), "e.g. \"security@example.jp\"")
			}
		}
	}
	if n.OfficerDigest < 0 || (n.OfficerDigest > 0 && n.OfficerDigest.D() < time.Minute) {
		c.Add("notify.officer_digest", "must be 0 or at least one minute", "e.g. \"0s\" (each hold) or \"1h\"")
	}
	if n.Language != "ja" && n.Language != "en" {
		c.Add("notify.language", fmt.Sprintf("unsupported language %q", n.Language), "ja or en")
	}
	if n.WebhookURL != "" && !strings.HasPrefix(n.WebhookURL, "https://") && !strings.HasPrefix(n.WebhookURL, "http://") {
		c.Add("notify.webhook_url", "not an http(s) URL", "e.g. \"https://chat.example.jp/hooks/abc\"")
	}
	names := map[string]bool{}
	for i, g := range cfg.Route.Groups {
		key := fmt.Sprintf("route.group[%d]", i)
		if g.Name == "" {
			c.Add(key+".name", "must not be empty", "e.g. \"sales\"")
		} else if names[g.Name] {
			c.Add(key+".name", fmt.Sprintf("duplicate group name %q", g.Name), "give each group its own name")
		}
		names[g.Name] = true
		if len(g.Senders) == 0 {
			c.Add(key+".senders", "empty", "user names, addresses, \"@domain\", or \"*\" for everyone")
		}
		for field, list := range map[string][]string{"officers": g.Officers, "backup": g.Backup} {
			for _, a := range list {
				if !validAddress(a) {
					c.Add(key+"."+field, fmt.Sprintf("%q is not an address", a), "e.g. \"security@example.jp\"")
				}
			}
		}
		if g.EscalateAfter < 0 {
			c.Add(key+".escalate_after", "must not be negative", "e.g. \"4h\"; 0 never escalates")
		} else if g.EscalateAfter > 0 && len(g.Backup) == 0 {
			c.Add(key+".backup", "escalate_after is set but nobody is named to escalate to", "list the backup officers' addresses")
		}
	}
	k := &cfg.Console
	if k.Listen != "" {
		checkHostPort(c, "console.listen", k.Listen)
	}
	if (k.TLSCert == "") != (k.TLSKey == "") {
		c.Add("console.tls_cert", "tls_cert and tls_key must be given together", "set both or neither")
	}
	if k.BaseURL == "" && k.Listen != "" {
		scheme := "http"
		if k.TLSCert != "" {
			scheme = "https"
		}
		k.BaseURL = scheme + "://" + k.Listen
	}
	positive(c, "console.session_idle", int(min(k.SessionIdle, 1<<40)))
	if k.SessionMax < k.SessionIdle {
		c.Add("console.session_max", "shorter than session_idle", "e.g. session_idle = \"30m\", session_max = \"12h\"")
	}
}

// Router builds the sender groups.
func (cfg *Config) Router() *route.Router {
	groups := make([]route.Group, 0, len(cfg.Route.Groups))
	for _, g := range cfg.Route.Groups {
		groups = append(groups, route.Group{Name: g.Name, Senders: g.Senders, Officers: g.Officers,
			Backup: g.Backup, EscalateAfter: g.EscalateAfter.D()})
	}
	return route.New(groups)
}

// Rules returns the effective rule list: the built-in rules unless
// policy.default_rules = false, with same-named config rules replacing
// them, then the other config rules.
func (cfg *Config) Rules() []policy.RuleSpec {
	var out []policy.RuleSpec
	own := map[string]bool{}
	for _, r := range cfg.Policy.Rules {
		own[r.Name] = true
	}
	if cfg.Policy.DefaultRules == nil || *cfg.Policy.DefaultRules {
		for _, r := range policy.DefaultRules() {
			if !own[r.Name] {
				out = append(out, r)
			}
		}
	}
	return append(out, cfg.Policy.Rules...)
}

// ShareLinkConfig is the share-link catalogue as configured.
func (cfg *Config) ShareLinkConfig() sharelink.Config { return cfg.Share.catalog() }

func positive(c *Checker, key string, v int) {
	if v <= 0 {
		c.Add(key, "must be greater than zero", "see config/egressguard.toml for the default")
	}
}

func checkHostPort(c *Checker, key, v string) {
	host, port, err := net.SplitHostPort(v)
	if err != nil || port == "" {
		c.Add(key, fmt.Sprintf("%q is not host:port", v), "e.g. \"127.0.0.1:2525\" or \"[::1]:587\"")
		return
	}
	_ = host
}

// validDomain is a syntax check for domain names in the config; IDN
// (Unicode) names are allowed and normalised by their users.
func validDomain(d string) bool {
	d = strings.TrimSuffix(d, ".")
	if d == "" || len(d) > 253 || !strings.Contains(d, ".") {
		return false
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return false
		}
		for _, r := range label {
			if r < 0x80 && !(r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
				return false
			}
		}
	}
	return true
}

func validAddress(a string) bool {
	at := strings.LastIndexByte(a, '@')
	return at > 0 && validDomain(a[at+1:]) && !strings.ContainsAny(a[:at], " \t<>")
}
