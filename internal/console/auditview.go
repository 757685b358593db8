package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"go.uber.org/zap"

	"github.com/egressguard/egressguard/internal/audit"
	"github.com/egressguard/egressguard/internal/store"
)

// The audit page in words: each action is named in the reader's
// language, with the actor and a link to the message; the raw entry
// stays one click away. The chain can be verified from the page, and
// what a search found can be exported as JSON Lines (as `egressguard
// audit export` writes it).

var eventWords = map[string]map[string]string{
	"en": {
		"message.accepted":     "message accepted",
		"message.refused":      "message refused by a rule",
		"message.view":         "message opened",
		"message.purge":        "content destroyed (retention)",
		"hold.approve":         "approved",
		"hold.reject":          "rejected",
		"hold.withdraw":        "withdrawn by the sender",
		"hold.expire":          "expired undecided",
		"hold.escalate":        "escalated to backup officers",
		"hold.justify":         "explained by the sender",
		"delivery.delivered":   "delivered",
		"delivery.deferred":    "delivery deferred, to be retried",
		"delivery.bounced":     "delivery failed",
		"delivery.error":       "delivery outcome not recorded",
		"console.login":        "logged in to the console",
		"console.login_failed": "failed console login",
		"console.logout":       "logged out",
		"smtp.login_failed":    "failed SMTP login",
		"user.add":             "account created",
		"user.passwd":          "password changed",
		"user.disable":         "account disabled",
		"user.enable":          "account enabled",
		"user.lang":            "console language changed",
		"token.create":         "API token created",
		"token.revoke":         "API token revoked",
		"allow.add":            "allowlist entry added",
		"allow.remove":         "allowlist entry removed",
		"config.load":          "configuration loaded",
		"audit.purge":          "old audit entries removed (retention)",
		"audit.export":         "audit log exported",
	},
	"ja": {
		"message.accepted":     "メールを受付",
		"message.refused":      "ルールにより送信を拒否",
		"message.view":         "メールを閲覧",
		"message.purge":        "内容を消去（保存期間）",
		"hold.approve":         "承認",
		"hold.reject":          "却下",
		"hold.withdraw":        "送信者が取り下げ",
		"hold.expire":          "判断されないまま期限切れ",
		"hold.escalate":        "代理の担当者に通知",
		"hold.justify":         "送信者が理由を説明",
		"delivery.delivered":   "配送",
		"delivery.deferred":    "配送を保留（再試行）",
		"delivery.bounced":     "配送失敗",
		"delivery.error":       "配送結果を記録できず",
		"console.login":        "コンソールにログイン",
		"console.login_failed": "コンソールのログイン失敗",
		"console.logout":       "ログアウト",
		"smtp.login_failed":    "SMTP 認証の失敗",
		"user.add":             "アカウントを作成",
		"user.passwd":          "パスワードを変更",
		"user.disable":         "アカウントを無効化",
		"user.enable":          "アカウントを有効化",
		"user.lang":            "表示言語を変更",
		"token.create":         "API トークンを作成",
		"token.revoke":         "API トークンを失効",
		"allow.add":            "許可リストに追加",
		"allow.remove":         "許可リストから削除",
		"config.load":          "設定を読み込み",
		"audit.purge":          "古い監査記録を削除（保存期間）",
		"audit.export":         "監査ログを書き出し",
	},
}

// Event names an audit action in words; an action without words shows
// as recorded.
func (l lang) Event(action string) string {
	if s, ok := eventWords[l.code][action]; ok {
		return s
	}
	return action
}

// Actor names who acted: the system and SMTP clients in words.
func (l lang) Actor(a string) string {
	switch {
	case a == "system":
		return l.T("actor.system")
	case strings.HasPrefix(a, "smtp:"):
		return l.T("actor.smtp", strings.TrimPrefix(a, "smtp:"))
	case strings.HasPrefix(a, "cli:"):
		return l.T("actor.cli", strings.TrimPrefix(a, "cli:"))
	}
	return a
}

// Detail picks the fields of an entry's data that say most, in one line:
// the comment, the reason, the recipients' count, the near miss.
func (l lang) Detail(data json.RawMessage) string {
	var d map[string]any
	if json.Unmarshal(data, &d) != nil {
		return ""
	}
	var parts []string
	for _, k := range []string{"comment", "justification", "reason", "value", "user", "subject"} {
		if s, ok := d[k].(string); ok && s != "" {
			parts = append(parts, s)
		}
	}
	if b, _ := d["near_miss"].(bool); b {
		parts = append(parts, l.T("msg.near_miss"))
	}
	if rs, ok := d["rcpts"].([]any); ok && len(rs) > 0 {
		parts = append(parts, l.T("audit.rcpts", len(rs)))
	}
	if via, _ := d["via"].(string); via != "" {
		parts = append(parts, l.T("audit.via", via))
	}
	return strings.Join(parts, " · ")
}

// chainStatus is the result of verifying the audit chain.
type chainStatus struct {
	Checked bool
	OK      bool
	N       int64
	Broken  string
	Head    int64
	HeadAt  time.Time
	HeadSum string
}

// head reads the newest entry of the chain.
func (c *Console) head(ctx context.Context) (chainStatus, error) {
	var cs chainStatus
	seq, err := c.newestSeq(ctx, 0)
	if err != nil || seq == 0 {
		return cs, err
	}
	es, err := c.st.Audit(ctx, store.AuditFilter{AfterSeq: seq - 1, Limit: 1})
	if err != nil || len(es) == 0 {
		return cs, err
	}
	cs.Head, cs.HeadAt = es[0].Seq, es[0].At
	cs.HeadSum = fmt.Sprintf("%x", es[0].Hash)
	if len(cs.HeadSum) > 16 {
		cs.HeadSum = cs.HeadSum[:16]
	}
	return cs, nil
}

// verifyChain checks the whole chain (on request only: it reads every entry).
func (c *Console) verifyChain(ctx context.Context, cs *chainStatus) error {
	n, err := audit.Verify(ctx, c.st)
	cs.Checked, cs.N = true, n
	var broken *audit.ErrBroken
	switch {
	case errors.As(err, &broken):
		cs.Broken = broken.Error()
	case err != nil:
		return err
	default:
		cs.OK = true
	}
	return nil
}

// auditExport writes the entries a search selects as JSON Lines, oldest
// first, and records the export itself.
func (c *Console) auditExport(w http.ResponseWriter, r *http.Request, u *store.User) {
	if !mayAudit(u) {
		c.errorPage(w, r, u, http.StatusForbidden, "err.forbidden")
		return
	}
	q, bad, err := auditParams(r.URL.Query(), 0, c.cfg.Zone)
	if err != nil {
		c.errorPage(w, r, u, http.StatusBadRequest, "err.audit_time", bad)
		return
	}
	ctx := r.Context()
	now := c.cfg.Now()
	err = c.st.Update(ctx, func(tx store.Tx) error {
		_, err := audit.Append(tx, now, audit.Event{Actor: u.Name, Action: "audit.export", Data: map[string]any{
			"msg": q.MsgID, "user": q.Actor, "rcpt": q.Rcpt, "via": "console"}})
		return err
	})
	if err != nil {
		c.log.Error("audit export", zap.Error(err))
		c.errorPage(w, r, u, http.StatusInternalServerError, "err.internal")
		return
	}
	w.Header().Set("Content-Type", "application/x-ndjson; charset=utf-8")
	w.Header().Set("Content-Disposition", fmt.Sprintf(`attachment; filename="egressguard-audit-%s.jsonl"`, now.UTC().Format("20060102-150405")))
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	match := rcptMatcher(q.Rcpt)
	f := store.AuditFilter{MsgID: q.MsgID, Actor: q.Actor, Since: q.Since, Until: q.Until, Limit: 5000}
	for {
		es, err := c.st.Audit(ctx, f)
		if err != nil {
			c.log.Error("audit export", zap.Error(err))
			return // the answer has begun; the cut file is visibly incomplete
		}
		for _, e := range es {
			if match(e) {
				if err := enc.Encode(auditEntry(e)); err != nil {
					return
				}
			}
		}
		if len(es) < f.Limit {
			return
		}
		f.AfterSeq = es[len(es)-1].Seq
	}
}
