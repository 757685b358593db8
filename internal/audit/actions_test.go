package audit

import (
	"strings"
	"testing"
)

// The names are stored in the chain and covered by its hashes: this list,
// written out, fails when one changes.
func TestActionNamesUnchanged(t *testing.T) {
	t.Parallel()
	for got, want := range map[string]string{
		ActionMessageAccepted:      "message.accepted",
		ActionMessageRefused:       "message.refused",
		ActionMessageView:          "message.view",
		ActionMessagePurge:         "message.purge",
		ActionHoldApprove:          "hold.approve",
		ActionHoldReject:           "hold.reject",
		ActionHoldWithdraw:         "hold.withdraw",
		ActionHoldExpire:           "hold.expire",
		ActionHoldEscalate:         "hold.escalate",
		ActionHoldJustify:          "hold.justify",
		ActionSenderSendNow:        "sender.send_now",
		ActionSenderCancel:         "sender.cancel",
		ActionSenderConfirm:        "sender.confirm",
		ActionSenderExpire:         "sender.expire",
		ActionDeliveryDelivered:    "delivery.delivered",
		ActionDeliveryDeferred:     "delivery.deferred",
		ActionDeliveryBounced:      "delivery.bounced",
		ActionDeliveryError:        "delivery.error",
		ActionQueueRelease:         "queue.release",
		ActionUserAdd:              "user.add",
		ActionUserPasswd:           "user.passwd",
		ActionUserEnable:           "user.enable",
		ActionUserDisable:          "user.disable",
		ActionUserRoles:            "user.roles",
		ActionUserAddresses:        "user.addresses",
		ActionUserDelegate:         "user.delegate",
		ActionUserLang:             "user.lang",
		ActionConsoleLogin:         "console.login",
		ActionConsoleLoginFailed:   "console.login_failed",
		ActionConsoleLoginLock:     "console.login_lockout",
		ActionConsoleLogout:        "console.logout",
		ActionSMTPLoginFailed:      "smtp.login_failed",
		ActionTokenCreate:          "token.create",
		ActionTokenRevoke:          "token.revoke",
		ActionAllowAdd:             "allow.add",
		ActionAllowRemove:          "allow.remove",
		ActionCorrespondentsImport: "correspondents.import",
		ActionCorrespondentsPurge:  "correspondents.purge",
		ActionConfigLoad:           "config.load",
		ActionIncidentOpen:         "incident.open",
		ActionIncidentView:         "incident.view",
		ActionIncidentUpdate:       "incident.update",
		ActionIncidentStatus:       "incident.status",
		ActionIncidentStep:         "incident.step",
		ActionIncidentRemind:       "incident.remind",
		ActionIncidentExport:       "incident.export",
		ActionAuditExport:          "audit.export",
		ActionAuditPurge:           "audit.purge",
		ActionAuditCheckpoint:      "audit.checkpoint",
		PrefixHold:                 "hold.",
		PrefixDelivery:             "delivery.",
		PrefixAllow:                "allow.",
	} {
		if got != want {
			t.Errorf("action %q is now %q", want, got)
		}
	}
}

// Each prefix selects its family.
func TestPrefixes(t *testing.T) {
	t.Parallel()
	for _, p := range []string{PrefixHold, PrefixDelivery, PrefixAllow} {
		if !strings.HasSuffix(p, ".") {
			t.Errorf("prefix %q", p)
		}
	}
	if !strings.HasPrefix(ActionHoldApprove, PrefixHold) || !strings.HasPrefix(ActionDeliveryBounced, PrefixDelivery) || !strings.HasPrefix(ActionAllowAdd, PrefixAllow) {
		t.Error("a prefix does not select its actions")
	}
}
