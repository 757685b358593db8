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
		audit.ActionMessageAccepted:    "message accepted",
		audit.ActionMessageRefused:     "message refused by a rule",
		audit.ActionMessageView:        "message opened",
		audit.ActionMessagePurge:       "content destroyed (retention)",
		audit.ActionHoldApprove:        "approved",
		audit.ActionHoldReject:         "rejected",
		audit.ActionHoldWithdraw:       "withdrawn by the sender",
		audit.ActionHoldExpire:         "expired undecided",
		audit.ActionHoldEscalate:       "escalated to backup officers",
		audit.ActionHoldJustify:        "explained by the sender",
		audit.ActionDeliveryDelivered:  "delivered",
		audit.ActionDeliveryDeferred:   "delivery deferred, to be retried",
		audit.ActionDeliveryBounced:    "delivery failed",
		audit.ActionDeliveryError:      "delivery outcome not recorded",
		audit.ActionConsoleLogin:       "logged in to the console",
		audit.ActionConsoleLoginFailed: "failed console login",
		audit.ActionConsoleLogout:      "logged out",
		audit.ActionSMTPLoginFailed:    "failed SMTP login",
		audit.ActionUserAdd:            "account created",
		audit.ActionUserPasswd:         "password changed",
		audit.ActionUserDisable:        "account disabled",
		audit.ActionUserEnable:         "account enabled",
		audit.ActionUserLang:           "console language changed",
		audit.ActionTokenCreate:        "API token created",
		audit.ActionTokenRevoke:        "API token revoked",
		audit.ActionAllowAdd:           "allowlist entry added",
		audit.ActionAllowRemove:        "allowlist entry removed",
		audit.ActionConfigLoad:         "configuration loaded",
		audit.ActionAuditPurge:         "old audit entries removed (retention)",
		audit.ActionAuditExport:        "audit log exported",
	},
	"ja": {
		audit.ActionMessageAccepted:    "メールを受付",
		audit.ActionMessageRefused:     "ルールにより送信を拒否",
		audit.ActionMessageView:        "メールを閲覧",
		audit.ActionMessagePurge:       "内容を消去（保存期間）",
		audit.ActionHoldApprove:        "承認",
		audit.ActionHoldReject:         "却下",
		audit.ActionHoldWithdraw:       "送信者が取り下げ",
		audit.ActionHoldExpire:         "判断されないまま期限切れ",
		audit.ActionHoldEscalate:       "代理の担当者に通知",
		audit.ActionHoldJustify:        "送信者が理由を説明",
		audit.ActionDeliveryDelivered:  "配送",
		audit.ActionDeliveryDeferred:   "配送を保留（再試行）",
		audit.ActionDeliveryBounced:    "配送失敗",
		audit.ActionDeliveryError:      "配送結果を記録できず",
		audit.ActionConsoleLogin:       "コンソールにログイン",
		audit.ActionConsoleLoginFailed: "コンソールのログイン失敗",
		audit.ActionConsoleLogout:      "ログアウト",
		audit.ActionSMTPLoginFailed:    "SMTP 認証の失敗",
		audit.ActionUserAdd:            "アカウントを作成",
		audit.ActionUserPasswd:         "パスワードを変更",
		audit.ActionUserDisable:        "アカウントを無効化",
		audit.ActionUserEnable:         "アカウントを有効化",
		audit.ActionUserLang:           "表示言語を変更",
		audit.ActionTokenCreate:        "API トークンを作成",
		audit.ActionTokenRevoke:        "API トークンを失効",
		audit.ActionAllowAdd:           "許可リストに追加",
		audit.ActionAllowRemove:        "許可リストから削除",
		audit.ActionConfigLoad:         "設定を読み込み",
		audit.ActionAuditPurge:         "古い監査記録を削除（保存期間）",
		audit.ActionAuditExport:        "監査ログを書き出し",
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
		_, err := audit.Append(tx, now, audit.Event{Actor: u.Name, Action: audit.ActionAuditExport, Data: map[string]any{
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
