package web

import (
	"context"

	"github.com/userd/userd"
)

type totpOutput struct {
	Body struct {
		Secret     string `json:"secret" doc:"Base32; type it into an authenticator app, or use otpauth_url."`
		OTPAuthURL string `json:"otpauth_url" doc:"otpauth://totp/… for a QR code."`
	}
}

func (s *Server) enrollTOTP(ctx context.Context, _ *struct{}) (*totpOutput, error) {
	e, err := s.auth.EnrollTOTP(ctx, userd.ActorFrom(ctx))
	if err != nil {
		return nil, err
	}
	out := &totpOutput{}
	out.Body.Secret, out.Body.OTPAuthURL = e.Secret, e.URL
	return out, nil
}

type codeInput struct {
	Body struct {
		Code string `json:"code" doc:"A 6-digit code of the authenticator app."`
	}
}

type recoveryOutput struct {
	Body struct {
		RecoveryCodes []string `json:"recovery_codes" doc:"Ten single-use codes for when the app is lost; shown only now."`
	}
}

func (s *Server) confirmTOTP(ctx context.Context, in *codeInput) (*recoveryOutput, error) {
	codes, err := s.auth.ConfirmTOTP(ctx, userd.ActorFrom(ctx), in.Body.Code, s.client(ctx))
	if err != nil {
		return nil, err
	}
	out := &recoveryOutput{}
	out.Body.RecoveryCodes = codes
	return out, nil
}

// SecondFactor is a TOTP code or a recovery code.
type SecondFactor struct {
	Code         string `json:"code,omitempty" doc:"A 6-digit code of the authenticator app."`
	RecoveryCode string `json:"recovery_code,omitempty" doc:"Or one of the recovery codes."`
}

type disableInput struct {
	Body SecondFactor
}

func (s *Server) disableTOTP(ctx context.Context, in *disableInput) (*struct{}, error) {
	return nil, s.auth.DisableTOTP(ctx, userd.ActorFrom(ctx), in.Body.Code, in.Body.RecoveryCode, s.client(ctx))
}

type mfaVerifyInput struct {
	Body struct {
		MFAToken string `json:"mfa_token" doc:"The mfa_token of the log-in's mfa_required answer."`
		SecondFactor
	}
}

func (s *Server) verifyMFA(ctx context.Context, in *mfaVerifyInput) (*loginOutput, error) {
	l, err := s.auth.VerifyMFA(ctx, in.Body.MFAToken, in.Body.Code, in.Body.RecoveryCode, s.client(ctx))
	if err != nil {
		return nil, err
	}
	return s.loginOutput(l), nil
}
