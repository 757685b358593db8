package app

import (
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/config"
	"github.com/egressguard/egressguard/internal/policy"
	"github.com/egressguard/egressguard/internal/problem"
	"github.com/egressguard/egressguard/internal/seal"
	"github.com/egressguard/egressguard/internal/sharelink"
	"github.com/egressguard/egressguard/internal/tz"
)

// LoadConfig reads the config file at path and checks it whole. The
// config package checks the text; LoadConfig also checks what the text
// names and what is built from it: the time zone, the key, certificate
// and password files load, and the share-link catalogue, the rules and
// the allowlist compile. Every problem is reported at once, in the order of the file,
// as a *config.Error. The TLS configurations and a password read from
// auth_password_file are filled in.
//
// `egressguard config check`, the start and a reload all load the config
// this way, so that they accept and refuse the same files.
func LoadConfig(path string) (*config.Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("config: %w", err)
	}
	return ParseConfig(data, path, filepath.Dir(abs))
}

// ParseConfig is LoadConfig for config text; file names it in errors, dir
// resolves relative paths.
func ParseConfig(data []byte, file, dir string) (*config.Config, error) {
	cfg, probs := config.Decode(data, file, dir)
	if cfg != nil {
		probs = append(probs, prepareConfig(cfg)...)
	}
	if err := config.Report(file, probs); err != nil {
		return nil, err
	}
	return cfg, nil
}

// PolicyEngine compiles the share-link catalogue and the rules of cfg.
func PolicyEngine(cfg *config.Config) (*policy.Engine, error) {
	cat, err := sharelink.NewConfig(cfg.ShareLinkConfig())
	if err != nil {
		return nil, err
	}
	return policy.New(policy.Config{InternalDomains: cfg.Policy.InternalDomains, Rules: cfg.Rules(), Catalog: cat,
		LookalikeDomains: cfg.Policy.Lookalike.ExtraDomains, DelayExternal: cfg.Delay.AllExternal.D()})
}

// prepareConfig checks what the config's text cannot show by itself and
// fills in what is read from files. Each problem carries the key and the
// line it is about.
func prepareConfig(cfg *config.Config) problem.List {
	var probs problem.List
	add := func(key, what, hint string) {
		probs = append(probs, problem.Problem{Key: key, Line: cfg.Line(key), What: what, Hint: hint})
	}
	if z, err := tz.Load(cfg.TimeZone); err != nil {
		add("time_zone", err.Error(), "an IANA zone name such as \"Asia/Tokyo\" or \"UTC\"; empty: the server's zone")
	} else {
		cfg.Zone = z
	}
	s := &cfg.SMTP
	if s.TLSCert != "" && s.TLSKey != "" {
		if t, err := loadTLS(cfg, s.TLSCert, s.TLSKey); err != nil {
			add("smtp.tls_cert", "cannot load certificate and key: "+err.Error(), "PEM files readable by the guard")
		} else {
			s.TLSConfig = t
		}
	}
	u := &cfg.Upstream
	if u.AuthPasswordFile != "" {
		inline := u.AuthPassword != "" // then config reported the missing user
		b, err := os.ReadFile(cfg.Path(u.AuthPasswordFile))
		if err != nil {
			add("upstream.auth_password_file", "cannot read: "+err.Error(), "a file with the password on its first line")
		} else {
			u.AuthPassword = strings.TrimRight(strings.SplitN(string(b), "\n", 2)[0], "\r")
			if u.AuthUser == "" && u.AuthPassword != "" && !inline {
				add("upstream.auth_user", "a password is set but no user", "set auth_user")
			}
		}
	}
	if u.CAFile != "" {
		if _, err := os.Stat(cfg.Path(u.CAFile)); err != nil {
			add("upstream.ca_file", "cannot read: "+err.Error(), "a PEM bundle of CA certificates")
		}
	}
	if cfg.Store.KeyFile != "" {
		if _, err := seal.Load(cfg.Path(cfg.Store.KeyFile)); err != nil {
			add("store.key_file", err.Error(), "create it with `egressguard keygen > FILE && chmod 600 FILE`")
		}
	}
	if cfg.Audit.CheckpointKeyFile != "" {
		if _, err := audit.LoadSigningKey(cfg.Path(cfg.Audit.CheckpointKeyFile)); err != nil {
			add("audit.checkpoint_key_file", err.Error(), "create it with `egressguard audit keygen > FILE && chmod 600 FILE`")
		}
	}
	k := &cfg.Console
	if k.TLSCert != "" && k.TLSKey != "" {
		if t, err := loadTLS(cfg, k.TLSCert, k.TLSKey); err != nil {
			add("console.tls_cert", "cannot load certificate and key: "+err.Error(), "PEM files readable by the guard")
		} else {
			k.TLSConfig = t
		}
	}
	// The catalogue and the rules are compiled separately so that
	// problems in both are reported together.
	if _, err := sharelink.NewConfig(cfg.ShareLinkConfig()); err != nil {
		for _, p := range problemsOf(err, "sharelink.", "sharelink") {
			add(p.Key, p.What, p.Hint)
		}
	}
	if _, err := policy.New(policy.Config{InternalDomains: cfg.Policy.InternalDomains, Rules: cfg.Rules(), LookalikeDomains: cfg.Policy.Lookalike.ExtraDomains}); err != nil {
		builtin := len(cfg.Rules()) - len(cfg.Policy.Rules)
		for _, p := range problemsOf(err, "policy.", "policy") {
			// Keys count the effective list; name the rule as the file
			// numbers it.
			key := ruleIndexRe.ReplaceAllStringFunc(p.Key, func(m string) string {
				i, _ := strconv.Atoi(m[len("policy.rule[") : len(m)-1])
				return fmt.Sprintf("policy.rule[%d]", i-builtin)
			})
			add(key, p.What, p.Hint)
		}
	}
	if _, err := policy.NewStaticList(cfg.Policy.Allow); err != nil {
		for _, p := range problemsOf(err, "policy.", "policy.allow") {
			add(p.Key, p.What, p.Hint)
		}
	}
	return probs
}

var ruleIndexRe = regexp.MustCompile(`^policy\.rule\[\d+\]`)

// problemsOf returns the problems err lists, prefix before their keys; an
// error that is not a list is one problem about the key whole.
func problemsOf(err error, prefix, whole string) problem.List {
	var pe *problem.Error
	if errors.As(err, &pe) {
		return pe.Problems.Prefixed(prefix)
	}
	return problem.List{{Key: whole, What: err.Error()}}
}

func loadTLS(cfg *config.Config, certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(cfg.Path(certFile), cfg.Path(keyFile))
	if err != nil {
		return nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
