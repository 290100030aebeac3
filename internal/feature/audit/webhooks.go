package audit

import "github.com/userd/userd/internal/feature/outbox"

// webhookTypes maps the actions of the trail to the webhook events of the
// catalogue they make, written to the outbox in the same transaction as the
// trail (see RecordAll).
var webhookTypes = map[string][]string{
	Signup:                     {outbox.UserCreated},
	AccountCreated:             {outbox.UserCreated},
	AdminUserCreated:           {outbox.UserCreated},
	AdminUserUpdated:           {outbox.UserUpdated},
	UserDeleted:                {outbox.UserDeleted},
	AdminUserDeleted:           {outbox.UserDeleted},
	EmailVerified:              {outbox.UserEmailVerified},
	SuspensionLifted:           {outbox.UserReactivated},
	Login:                      {outbox.SessionCreated},
	Logout:                     {outbox.SessionRevoked},
	SessionRevoked:             {outbox.SessionRevoked},
	AdminSessionsEnded:         {outbox.SessionRevoked},
	AdminRoleAssigned:          {outbox.RoleAssigned},
	AdminRoleRemoved:           {outbox.RoleRemoved},
	OrganizationCreated:        {outbox.OrganizationCreated},
	OrganizationMemberAdded:    {outbox.OrganizationMemberAdded},
	OrganizationMemberRemoved:  {outbox.OrganizationMemberGone},
	BillingSubscriptionChanged: {outbox.SubscriptionChanged},
	ReportCreated:              {outbox.ReportCreated},
	ActionTaken:                {outbox.ModerationActionTaken},
}

// moderationTypes are the user.* events a moderation action makes besides
// moderation.action_taken, by its details.action.
var moderationTypes = map[string]string{"suspend": outbox.UserSuspended, "ban": outbox.UserBanned, "unban": outbox.UserReactivated}

// webhookEvents returns the catalogue's events that completed trail events
// make.
func webhookEvents(events []Event) []outbox.New {
	var out []outbox.New
	for _, e := range events {
		types := webhookTypes[e.Action]
		if len(types) == 0 {
			continue
		}
		if e.Action == ActionTaken {
			if action, _ := e.Metadata["action"].(string); moderationTypes[action] != "" {
				types = append(types[:1:1], moderationTypes[action])
			}
		}
		// The event is about its trail's user, or about the user an
		// administrator acted on (whose trail it is not): the trail's user
		// is then who acted.
		subject, actor := e.UserID, e.ActorUserID
		if e.TargetType == "user" && e.TargetID != "" && e.TargetID != e.UserID {
			subject = e.TargetID
			if actor == "" {
				actor = e.UserID
			}
		}
		data := outbox.EventData{Version: outbox.Version, UserID: subject, Details: e.Metadata}
		if data.Details == nil {
			data.Details = map[string]any{}
		}
		if actor != "" || e.APIKeyID != "" {
			data.Actor = &outbox.EventActor{UserID: actor, APIKeyID: e.APIKeyID}
		}
		if e.TargetType != "" {
			data.Target = &outbox.EventRef{Type: e.TargetType, ID: e.TargetID}
		}
		for _, t := range types {
			out = append(out, outbox.New{Type: t, Data: data})
		}
	}
	return out
}
