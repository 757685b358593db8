package notify

import (
	"fmt"
	"strings"
	"time"

	"github.com/egressguard/egressguard/internal/hold"
	"github.com/egressguard/egressguard/internal/incident"
)

// Incident notices go to the incident contacts (and, when a sender
// reports a misdirected message, to the officers too): what happened, a
// link to the record, and the reporting deadlines.

func (n *Notifier) incidentLink(id string) string {
	if n.cfg.ConsoleURL == "" {
		return id
	}
	return strings.TrimRight(n.cfg.ConsoleURL, "/") + "/incidents/" + id
}

func (n *Notifier) incidentTo(withOfficers bool) []string {
	to := append([]string(nil), n.cfg.IncidentContacts...)
	if withOfficers {
		for _, o := range n.cfg.Officers {
			if !containsFold(to, o) {
				to = append(to, o)
			}
		}
	}
	return to
}

func containsFold(list []string, s string) bool {
	for _, v := range list {
		if strings.EqualFold(v, s) {
			return true
		}
	}
	return false
}

func (n *Notifier) local(t time.Time) string { return t.Local().Format("2006-01-02 15:04 MST") }

// IncidentOpened is the notice that an incident was opened.
func (n *Notifier) IncidentOpened(in *incident.Incident, rules incident.Rules) []hold.Notice {
	to := n.incidentTo(true)
	if len(to) == 0 {
		return nil
	}
	var rc []string
	for _, r := range in.Facts.Recipients {
		rc = append(rc, r.Addr)
	}
	var dl []string
	for _, d := range in.Deadlines(rules) {
		if n.cfg.Language == "en" {
			dl = append(dl, fmt.Sprintf("  - %s: %s", d.En, n.local(d.Due)))
		} else {
			dl = append(dl, fmt.Sprintf("  - %s: %s", d.Ja, n.local(d.Due)))
		}
	}
	if n.cfg.Language == "en" {
		body := fmt.Sprintf("%s reported a message as sent to the wrong person.\n\nSubject: %s\nSender: %s\nRecipients: %s\nLinks: %d, attachments: %d\n\nIf the leak must be reported to the Personal Information Protection Commission, the deadlines are:\n%s\n\nIncident: %s\n",
			in.Reporter, in.Facts.Subject, in.Facts.Sender, strings.Join(rc, ", "), len(in.Facts.Links), len(in.Facts.Attachments), strings.Join(dl, "\n"), n.incidentLink(in.ID))
		return []hold.Notice{n.compose(to, "[egressguard] Incident opened: "+in.Facts.Subject, body)}
	}
	body := fmt.Sprintf("%s さんが、誤送信としてメールを報告しました。\n\n件名: %s\n送信者: %s\n宛先: %s\n共有リンク: %d 件、添付ファイル: %d 件\n\n個人情報保護委員会への報告が必要な場合の期限:\n%s\n\nインシデント: %s\n",
		in.Reporter, in.Facts.Subject, in.Facts.Sender, strings.Join(rc, "、"), len(in.Facts.Links), len(in.Facts.Attachments), strings.Join(dl, "\n"), n.incidentLink(in.ID))
	return []hold.Notice{n.compose(to, "【egressguard】誤送信の報告: "+in.Facts.Subject, body)}
}

// IncidentReminder is the notice that a reporting deadline is near or
// has passed.
func (n *Notifier) IncidentReminder(in *incident.Incident, d incident.Deadline, overdue bool) []hold.Notice {
	to := n.incidentTo(false)
	if len(to) == 0 {
		to = n.incidentTo(true)
	}
	if len(to) == 0 {
		return nil
	}
	if n.cfg.Language == "en" {
		state := "is due on"
		if overdue {
			state = "was due on"
		}
		body := fmt.Sprintf("The %s to the Personal Information Protection Commission for incident %s %s %s.\n\nSubject of the message: %s\nStatus: %s\n\n%s\n",
			strings.ToLower(d.En), in.ID, state, n.local(d.Due), in.Facts.Subject, in.Status, n.incidentLink(in.ID))
		return []hold.Notice{n.compose(to, fmt.Sprintf("[egressguard] %s %s: incident %s", d.En, map[bool]string{true: "overdue", false: "due soon"}[overdue], in.ID), body)}
	}
	state := "の期限が近づいています"
	if overdue {
		state = "の期限を過ぎています"
	}
	body := fmt.Sprintf("インシデント %s の個人情報保護委員会への%s%s（期限: %s）。\n\nメールの件名: %s\n状態: %s\n\n%s\n",
		in.ID, d.Ja, state, n.local(d.Due), in.Facts.Subject, in.Status, n.incidentLink(in.ID))
	return []hold.Notice{n.compose(to, fmt.Sprintf("【egressguard】%s%s: %s", d.Ja, state, in.ID), body)}
}
