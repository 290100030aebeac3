package auth

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/userd/userd/internal/feature/account"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/notify"
	"github.com/userd/userd/internal/platform/sqldb"
)

// The notices of security changes to how an account is signed in to, which
// its owner is told of in the application and by mail, so that a stolen
// session cannot quietly change a password, an email or a factor (passkey
// has its own).
var (
	NoticePasswordChanged = notify.Notice{Type: "security.password_changed", Title: "Your password was changed",
		Text: "Your password was changed, and your other sessions were signed out. If this was not you, reset your password now."}
	NoticePasswordReset = notify.Notice{Type: "security.password_reset", Title: "Your password was reset",
		Text: "Your password was reset with a link sent to your email, and every session was signed out."}
	NoticeMFAEnabled = notify.Notice{Type: "security.mfa_enabled", Title: "Two-step sign-in was turned on",
		Text: "An authenticator app now gives the second step of your sign-ins. If this was not you, reset your password now and turn it off."}
	NoticeMFADisabled = notify.Notice{Type: "security.mfa_disabled", Title: "Two-step sign-in was turned off",
		Text: "Your sign-ins no longer ask for a code from an authenticator app. If this was not you, reset your password now."}
	NoticeEmailChanged = notify.Notice{Type: "security.email_changed", Title: "Your email address was changed",
		Text: "The email address of your account was changed. If this was not you, contact the operator of this service."}
)

// Tell records a notice for a user in tx and queues its mail in tx to
// their email address when they have one; oldEmail, when not empty, is
// mailed too (the address a change of email leaves behind).
func (s *Service) Tell(ctx context.Context, tx *sqldb.Tx, userID string, n notify.Notice, c Client, oldEmail string) error {
	data, _ := json.Marshal(map[string]string{"ip": c.IP, "user_agent": c.UserAgent})
	if _, err := notify.Create(ctx, tx, userID, notify.New{Type: n.Type, Title: n.Title, Description: n.Text, Data: data}); err != nil {
		return fmt.Errorf("notice %s: %w", n.Type, err)
	}
	u, err := account.Get(ctx, tx, userID)
	if err != nil {
		return fmt.Errorf("notice %s: %w", n.Type, err)
	}
	to := []string{}
	if u.Email != nil {
		to = append(to, *u.Email)
	}
	if oldEmail != "" && (u.Email == nil || oldEmail != *u.Email) {
		to = append(to, oldEmail)
	}
	for _, addr := range to {
		data := struct {
			Email, Title, Text, IP, UserAgent string
		}{addr, n.Title, n.Text, c.IP, c.UserAgent}
		msg, err := render("notice", data)
		if err != nil {
			return err
		}
		msg.To, msg.Subject = addr, n.Title
		if err := s.Mail.Queue(ctx, tx, mailq.Mail{UserID: userID, Kind: mailq.SecurityNotice, Message: msg}); err != nil {
			return fmt.Errorf("notice %s: %w", n.Type, err)
		}
	}
	return nil
}
