package audit

// The actions the guard records. An action name is stored in every entry
// and covered by its hash, so a name never changes once released; every
// writer and every reader (the console's words, incident timelines) uses
// these constants.
const (
	// Messages.
	ActionMessageAccepted = "message.accepted" // stored (also when held, delayed …)
	ActionMessageRefused  = "message.refused"  // refused by the front end itself
	ActionMessageView     = "message.view"     // opened by an officer or through a sender's link
	ActionMessagePurge    = "message.purge"    // content destroyed by retention

	// Held mail: the officers' decisions ("hold." and the decision kind)
	// and what happens to held mail by itself.
	ActionHoldApprove  = "hold.approve"
	ActionHoldReject   = "hold.reject"
	ActionHoldWithdraw = "hold.withdraw" // by its sender
	ActionHoldExpire   = "hold.expire"
	ActionHoldEscalate = "hold.escalate"
	ActionHoldJustify  = "hold.justify" // the sender's explanation

	// Delayed and unconfirmed mail: its sender's decisions.
	ActionSenderSendNow = "sender.send_now"
	ActionSenderCancel  = "sender.cancel"
	ActionSenderConfirm = "sender.confirm"
	ActionSenderExpire  = "sender.expire" // unconfirmed until it expired

	// Delivery attempts, by outcome.
	ActionDeliveryDelivered = "delivery.delivered"
	ActionDeliveryDeferred  = "delivery.deferred"
	ActionDeliveryBounced   = "delivery.bounced"
	ActionDeliveryError     = "delivery.error" // the outcome could not be recorded

	// ActionQueueRelease: an instance's delivery claims were returned to
	// the queue (the instance was found dead, or an operator released
	// them).
	ActionQueueRelease = "queue.release"

	// Accounts, console sessions and API tokens.
	ActionUserAdd            = "user.add"
	ActionUserPasswd         = "user.passwd"
	ActionUserEnable         = "user.enable"
	ActionUserDisable        = "user.disable"
	ActionUserRoles          = "user.roles"
	ActionUserAddresses      = "user.addresses"
	ActionUserDelegate       = "user.delegate"
	ActionUserLang           = "user.lang"
	ActionConsoleLogin       = "console.login"
	ActionConsoleLoginFailed = "console.login_failed"
	ActionConsoleLoginLock   = "console.login_lockout"
	ActionConsoleLogout      = "console.logout"
	ActionSMTPLoginFailed    = "smtp.login_failed"
	ActionTokenCreate        = "token.create"
	ActionTokenRevoke        = "token.revoke"

	// The allowlist and the correspondents record.
	ActionAllowAdd             = "allow.add"
	ActionAllowRemove          = "allow.remove"
	ActionCorrespondentsImport = "correspondents.import"
	ActionCorrespondentsPurge  = "correspondents.purge"

	// The configuration, incidents and the audit log itself.
	ActionConfigLoad     = "config.load"
	ActionIncidentOpen   = "incident.open"
	ActionIncidentView   = "incident.view"
	ActionIncidentUpdate = "incident.update"
	ActionIncidentStatus = "incident.status"
	ActionIncidentStep   = "incident.step"
	ActionIncidentRemind = "incident.remind"
	ActionIncidentExport = "incident.export"
	ActionAuditExport    = "audit.export"

	// ActionAuditPurge is a retention purge of the audit log. Its data
	// carries through_seq, the last entry removed, which lets Verify tell
	// a purge from a deletion.
	ActionAuditPurge = "audit.purge"
	// ActionAuditCheckpoint is a checkpoint entry. Its data holds the
	// checkpoint of the entry before it.
	ActionAuditCheckpoint = "audit.checkpoint"
)

// Prefixes that group actions, for readers that select a family.
const (
	PrefixHold     = "hold."
	PrefixDelivery = "delivery."
	PrefixAllow    = "allow."
)
