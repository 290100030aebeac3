package client_test

import (
	"bufio"
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/userd/userd/client"
)

// TestGoExample runs examples/go as a process beside a real userd that sends
// it webhooks: it accepts an access token and refuses forged ones, and
// accepts userd's synchronization.due webhook and refuses forged deliveries.
func TestGoExample(t *testing.T) {
	t.Parallel()
	secret := newSecret()
	exampleAddr := freeAddr(t)
	base := "http://" + exampleAddr
	srv := startUserd(t, "--webhook-url", base+"/webhooks/userd", "--webhook-secret", secret)
	received := startExample(t, program(t, "./examples/go"), exampleAddr, srv.url, secret)
	ctx := context.Background()

	anon, err := client.NewClientWithResponses(srv.url)
	if err != nil {
		t.Fatal(err)
	}
	email := "ann@example.com"
	signup, err := anon.SignupWithResponse(ctx, client.SignupJSONRequestBody{Email: &email, Password: "correct horse battery staple"})
	if err != nil || signup.JSON201 == nil {
		t.Fatalf("signup: %v %s", err, signup.Body)
	}
	tok := signup.JSON201.AccessToken
	status, body := get(t, base+"/hello", "Bearer "+tok)
	want := fmt.Sprintf(`{"admin":false,"roles":["END_USER"],"user_id":%q}`, signup.JSON201.User.Id)
	if status != http.StatusOK || strings.TrimSpace(body) != want {
		t.Fatalf("/hello = %d %s, want 200 %s", status, body, want)
	}
	for name, bad := range tampered(t, tok) {
		if status, body := get(t, base+"/hello", "Bearer "+bad); status != http.StatusUnauthorized || strings.TrimSpace(body) != "invalid_token" {
			t.Errorf("%s: /hello = %d %s", name, status, body)
		}
	}
	if status, _ := get(t, base+"/hello", ""); status != http.StatusUnauthorized {
		t.Errorf("no token: /hello = %d", status)
	}

	asAnn, err := client.NewClientWithResponses(srv.url, client.WithBearer(tok))
	if err != nil {
		t.Fatal(err)
	}
	service, account, token := "etp", "ann-1", "a platform token"
	sync, err := asAnn.CreateSynchronizationWithResponse(ctx, client.CreateSynchronizationJSONRequestBody{Service: &service, AccountId: &account, Token: &token})
	if err != nil || sync.JSON201 == nil {
		t.Fatalf("create synchronization: %v %s", err, sync.Body)
	}
	login, err := anon.LoginWithResponse(ctx, client.LoginJSONRequestBody{Identifier: adminEmail, Password: adminPassword})
	if err != nil || login.JSON200 == nil {
		t.Fatalf("admin login: %v %s", err, login.Body)
	}
	asAdmin, err := client.NewClientWithResponses(srv.url, client.WithBearer(login.JSON200.AccessToken))
	if err != nil {
		t.Fatal(err)
	}
	runNow, err := asAdmin.AdminRunSynchronizationWithResponse(ctx, sync.JSON201.Id.String())
	if err != nil || runNow.StatusCode() != http.StatusAccepted {
		t.Fatalf("run synchronization: %v %s", err, runNow.Body)
	}
	// --webhook-url also receives the rest of the catalogue (user.created,
	// session.created): skip to the synchronization's.
	if ev := nextWebhook(t, received, func(ev webhookLog) bool { return ev.Type == "synchronization.due" }); !strings.HasPrefix(ev.ID, "msg_") {
		t.Fatalf("webhook = %+v", ev)
	}

	payload := []byte(`{"type":"synchronization.due","timestamp":"2026-01-01T00:00:00Z","data":{}}`)
	now := time.Now()
	forged := map[string]http.Header{
		"another key":  signed(newSecret(), "msg_forged", now, payload),
		"an old stamp": signed(secret, "msg_forged", now.Add(-10*time.Minute), payload),
		"no signature": {"Webhook-Id": {"msg_forged"}, "Webhook-Timestamp": {strconv.FormatInt(now.Unix(), 10)}},
		"another id":   withID(signed(secret, "msg_forged", now, payload), "msg_other"),
	}
	for name, h := range forged {
		if status := post(t, base+"/webhooks/userd", h, payload); status != http.StatusBadRequest {
			t.Errorf("%s: webhook = %d, want 400", name, status)
		}
	}
	if status := post(t, base+"/webhooks/userd", signed(secret, "msg_ours", now, payload), payload); status != http.StatusNoContent {
		t.Fatalf("a delivery signed with the secret = %d, want 204", status)
	}
	nextWebhook(t, received, func(ev webhookLog) bool { return ev.ID == "msg_ours" })
}

// nextWebhook returns the next webhook the example received that match
// says is the one awaited, within 30 s.
func nextWebhook(t *testing.T, received <-chan webhookLog, match func(webhookLog) bool) webhookLog {
	t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		select {
		case ev := <-received:
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatal("no such webhook within 30 s")
		}
	}
}

// TestNodeExample runs examples/node's tests (node --test) against a real
// userd that sends the example webhooks.
func TestNodeExample(t *testing.T) {
	t.Parallel()
	nodeTests(t, "examples/node")
}

// webhookLog is what the Go example logs for each webhook it accepts.
type webhookLog struct {
	Msg  string `json:"msg"`
	Type string `json:"type"`
	ID   string `json:"id"`
}

// startExample runs the Go example at addr and returns the webhooks it
// logs having accepted.
func startExample(t *testing.T, bin, addr, userdURL, secret string) <-chan webhookLog {
	t.Helper()
	cmd := exec.Command(bin, "--addr", addr, "--userd-url", userdURL, "--webhook-secret", secret)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	received := make(chan webhookLog, 8)
	listening := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			var l webhookLog
			if json.Unmarshal(sc.Bytes(), &l) != nil {
				continue
			}
			switch l.Msg {
			case "example listening":
				close(listening)
			case "webhook received":
				received <- l
			}
		}
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case <-listening:
	case <-time.After(30 * time.Second):
		t.Fatal("the example did not start")
	}
	waitHealthyPath(t, "http://"+addr+"/hello")
	return received
}

// waitHealthyPath waits until url answers at all.
func waitHealthyPath(t *testing.T, url string) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if resp, err := http.Get(url); err == nil {
			resp.Body.Close()
			return
		}
	}
	t.Fatalf("%s does not answer", url)
}

// newSecret returns a fresh whsec_ secret of 32 random bytes.
func newSecret() string {
	key := make([]byte, 32)
	rand.Read(key)
	return "whsec_" + base64.StdEncoding.EncodeToString(key)
}

// signed returns the Standard Webhooks headers of payload, signed with the
// whsec_ secret.
func signed(secret, id string, at time.Time, payload []byte) http.Header {
	key, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(secret, "whsec_"))
	if err != nil {
		panic(err)
	}
	ts := strconv.FormatInt(at.Unix(), 10)
	mac := hmac.New(sha256.New, key)
	fmt.Fprintf(mac, "%s.%s.%s", id, ts, payload)
	return http.Header{"Webhook-Id": {id}, "Webhook-Timestamp": {ts}, "Webhook-Signature": {"v1," + base64.StdEncoding.EncodeToString(mac.Sum(nil))}}
}

// withID returns h with another webhook-id.
func withID(h http.Header, id string) http.Header {
	h.Set("Webhook-Id", id)
	return h
}

// get GETs url with an Authorization header (none when empty).
func get(t *testing.T, url, authorization string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// post POSTs payload to url with the headers h and returns the status.
func post(t *testing.T, url string, h http.Header, payload []byte) int {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(string(payload)))
	if err != nil {
		t.Fatal(err)
	}
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
