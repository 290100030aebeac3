package main

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/userd/userd/internal/feature/billing"
	"github.com/userd/userd/internal/feature/crm"
	"github.com/userd/userd/internal/feature/engagement"
	"github.com/userd/userd/internal/feature/keys"
	"github.com/userd/userd/internal/feature/mailq"
	"github.com/userd/userd/internal/feature/mfa"
	"github.com/userd/userd/internal/feature/newsletter"
	"github.com/userd/userd/internal/feature/synchronization"
	"github.com/userd/userd/internal/feature/vault"
	"github.com/userd/userd/internal/feature/webhook"
	"github.com/userd/userd/internal/platform/seal"
	"github.com/userd/userd/internal/platform/sqldb"
)

// keyConfig says where the master keys are.
type keyConfig struct {
	file string
	old  multiFlag
}

func (k *keyConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&k.file, "master-key-file", "", "file holding the base64 master key that seals secrets at rest; USERD_MASTER_KEY may hold the key itself (default DATA_DIR/master.key, created when missing) (env USERD_MASTER_KEY_FILE)")
	fs.Var(&k.old, "old-master-key-file", "file of a previous master key that still opens what it sealed, during a rotation; repeatable (env USERD_OLD_MASTER_KEY_FILE, ';' between files)")
}

// keyring loads the master key: USERD_MASTER_KEY, else the key file, else
// DATA_DIR/master.key, which is created (mode 0600) when missing.
func (k *keyConfig) keyring(dataDir string, log *slog.Logger) (*seal.Keyring, []byte, error) {
	var key []byte
	var err error
	switch env := os.Getenv("USERD_MASTER_KEY"); {
	case env != "":
		key, err = seal.ParseKey(env)
		if err != nil {
			err = fmt.Errorf("USERD_MASTER_KEY: %w", err)
		}
	case k.file != "":
		var b []byte
		if b, err = os.ReadFile(k.file); err == nil {
			key, err = seal.ParseKey(string(b))
		}
		if err != nil {
			err = fmt.Errorf("--master-key-file: %w", err)
		}
	default:
		if err = os.MkdirAll(dataDir, 0o700); err != nil {
			return nil, nil, fmt.Errorf("create data folder: %w", err)
		}
		path := filepath.Join(dataDir, "master.key")
		var created bool
		key, created, err = seal.LoadOrCreateKey(path)
		if created {
			log.Warn("created a master key; back it up: without it, sealed secrets cannot be read. Processes that share a database must share it (--master-key-file or USERD_MASTER_KEY)", "path", path)
		}
	}
	if err != nil {
		return nil, nil, err
	}
	var olds [][]byte
	for _, f := range k.old {
		b, err := os.ReadFile(f)
		if err == nil {
			var old []byte
			if old, err = seal.ParseKey(string(b)); err == nil {
				olds = append(olds, old)
				continue
			}
		}
		return nil, nil, fmt.Errorf("--old-master-key-file %s: %w", f, err)
	}
	ring, err := seal.NewKeyring(key, olds...)
	return ring, key, err
}

// derive makes a purpose-bound secret from the master key.
func derive(master []byte, purpose string) []byte {
	k, err := hkdf.Key(sha256.New, master, nil, purpose, 32)
	if err != nil {
		panic(err) // only an impossible length fails
	}
	return k
}

func keysCmd(ctx context.Context, args []string, stdout io.Writer) error {
	if len(args) == 0 || args[0] != "rotate" {
		return fmt.Errorf("usage: userd keys rotate [--data-dir DIR | --database-url URL] [--master-key-file NEW] [--old-master-key-file OLD]…")
	}
	var kc keyConfig
	var dataDir flag.Value
	db, err := openWith(ctx, "keys rotate", args[1:], func(fs *flag.FlagSet) {
		kc.flags(fs)
		dataDir = fs.Lookup("data-dir").Value
	})
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.MigrateUp(ctx); err != nil {
		return err
	}
	ring, _, err := kc.keyring(dataDir.String(), newLogger(os.Stderr, "text"))
	if err != nil {
		return err
	}
	for _, col := range []sqldb.SealedColumn{keys.Sealed, vault.Sealed, synchronization.Sealed, mfa.Sealed, engagement.Sealed, billing.Sealed, crm.Sealed, newsletter.Sealed, webhook.Sealed, webhook.SealedPrevious, mailq.Sealed} {
		total, err := db.CountSealed(ctx, col)
		if err != nil {
			return err
		}
		bar := progressbar.NewOptions(total, progressbar.OptionSetWriter(os.Stderr),
			progressbar.OptionSetDescription("re-sealing "+col.Table+"."+col.Column), progressbar.OptionClearOnFinish())
		var done int
		err = db.Reseal(ctx, ring, col, func(seen, resealed int) {
			bar.Set(seen)
			done = resealed
		})
		bar.Finish()
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "%s.%s: %d of %d values re-sealed under master key %s\n", col.Table, col.Column, done, total, ring.PrimaryID())
	}
	k, err := keys.New(db, ring, keys.Config{RotateEvery: 7 * 24 * time.Hour, TokenTTL: time.Hour}).Rotate(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "new signing key %s signs from now on; older keys keep verifying the tokens they signed\n", k.ID)
	return nil
}
