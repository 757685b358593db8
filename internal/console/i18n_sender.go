package console

// The words of the sender's pages for delayed mail and confirmation, in
// both languages; merged into the catalogue at start.
var senderCatalogue = map[string]map[string]string{
	"en": {
		"state.delayed":     "delayed",
		"state.unconfirmed": "waiting for your confirmation",
		"decision.send_now": "sent now by the sender",
		"decision.cancel":   "cancelled by the sender",
		"decision.confirm":  "confirmed by the sender",
		"act.send_now":      "Send now",
		"act.cancel":        "Cancel (do not send)",
		"act.confirm":       "Confirm and send",
		"act.sender":        "Your message",
		"msg.release_at":    "Leaves by itself at %s (in %s) unless you cancel it.",
		"msg.confirm_until": "Not sent unless you confirm it by %s (in %s).",
		"msg.external":      "External recipients",
		"msg.waiting_rcpts": "Still waiting: %d of %d recipients.",
		"rcpt.waiting":      "waiting",
		"rcpt.sent_at_once": "sent at once",
		"done.sent_now":     "%s is being sent now.",
		"done.cancelled":    "%s was cancelled; it will not be sent.",
		"done.confirmed":    "%s was confirmed and is being sent.",
		"err.not_waiting":   "This message is no longer waiting: it was already sent, cancelled, or its time ran out.",
		"err.bad_link":      "This confirmation link is not valid or has expired. Open the message in the console instead.",
		"link.title":        "Confirm before sending",
		"link.ask":          "This message is not sent until you confirm it. Check the recipients; confirm by %s.",
		"link.done":         "Confirmed. The message is being sent.",
		"link.cancel_hint":  "Not right? Do not confirm: it expires unsent. To cancel it now or see its content,",
		"link.open_console": "open it in the console.",
		"col.release":       "Leaves at",
	},
	"ja": {
		"state.delayed":     "送信待機中",
		"state.unconfirmed": "送信者の確認待ち",
		"decision.send_now": "送信者が今すぐ送信",
		"decision.cancel":   "送信者が取り消し",
		"decision.confirm":  "送信者が確認",
		"act.send_now":      "今すぐ送信",
		"act.cancel":        "取り消す（送信しない）",
		"act.confirm":       "確認して送信",
		"act.sender":        "あなたのメール",
		"msg.release_at":    "%s（あと %s）に自動で送信されます。取り消すこともできます。",
		"msg.confirm_until": "%s（あと %s）までに確認しないと送信されません。",
		"msg.external":      "社外の宛先",
		"msg.waiting_rcpts": "待機中の宛先: %d 件（全 %d 件中）",
		"rcpt.waiting":      "待機中",
		"rcpt.sent_at_once": "送信済み",
		"done.sent_now":     "%s を今すぐ送信します。",
		"done.cancelled":    "%s を取り消しました。送信されません。",
		"done.confirmed":    "%s を確認しました。送信します。",
		"err.not_waiting":   "このメールはもう待機していません。送信済み、取り消し済み、または期限切れです。",
		"err.bad_link":      "この確認用リンクは無効か期限切れです。コンソールでメールを開いてください。",
		"link.title":        "送信前の確認",
		"link.ask":          "このメールは確認するまで送信されません。宛先を確かめ、%s までに確認してください。",
		"link.done":         "確認しました。メールを送信します。",
		"link.cancel_hint":  "宛先が違う場合は確認しないでください（送信されずに失効します）。今すぐ取り消す・内容を見るには",
		"link.open_console": "コンソールで開いてください。",
		"col.release":       "送信予定",
	},
}

func init() {
	for lang, m := range senderCatalogue {
		for k, v := range m {
			if _, dup := catalogue[lang][k]; !dup {
				catalogue[lang][k] = v
			}
		}
	}
}
