// Package retrieval is the retrieval counter's logic, apart from HTTP:
// collection codes and link tokens for an order, and the collection
// itself (reserve a download, make a key in memory, have the CA sign it,
// wrap it in a PKCS#12 under a fresh password, record it). The private
// key and the password exist only in memory and in the one response that
// delivers them.
package retrieval

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"math/big"
	"strings"
	"time"

	"sceau.fr/sceau/ca/bundle"
	"sceau.fr/sceau/portal/model"
)

// Issuer is the certificate authority as the counter sees it.
type Issuer interface {
	// IssueLitigant signs a litigant certificate for the CSR's key; the
	// chain runs from the leaf up to (not including) the root.
	IssueLitigant(ctx context.Context, csr *x509.CertificateRequest, r Request) (chain []*x509.Certificate, err error)
	// Revoke revokes a certificate Sceau issued (RFC 5280 reason code).
	Revoke(ctx context.Context, serial *big.Int, reason int) error
}

// Request is what the certificate says about its holder.
type Request struct {
	Name, Email, CaseRef, ParticipantID string
	Validity                            time.Duration
}

// Store is the storage the collection needs.
type Store interface {
	ClaimCollection(ctx context.Context, orderID int64, claim string, at, until time.Time) error
	ReleaseCollection(ctx context.Context, orderID int64, claim string) error
	CompleteCollection(ctx context.Context, col *model.Collection, render model.CollectionMail) (*model.Account, error)
}

// KeyType is the kind of key made for the person.
type KeyType string

const (
	ECDSAP256 KeyType = "ecdsa-p256"
	RSA2048   KeyType = "rsa-2048"
	RSA3072   KeyType = "rsa-3072"
)

// ParseKeyType reads a configured key type ("" is ECDSA P-256).
func ParseKeyType(s string) (KeyType, error) {
	switch k := KeyType(s); k {
	case "":
		return ECDSAP256, nil
	case ECDSAP256, RSA2048, RSA3072:
		return k, nil
	}
	return "", fmt.Errorf("unknown key type %q (ecdsa-p256, rsa-2048 or rsa-3072)", s)
}

func newKey(k KeyType) (crypto.Signer, error) {
	switch k {
	case RSA2048:
		return rsa.GenerateKey(rand.Reader, 2048)
	case RSA3072:
		return rsa.GenerateKey(rand.Reader, 3072)
	default:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
}

// claimTime is how long a download stays reserved for one window while
// its certificate is made; a window that crashes frees it after that.
const claimTime = 2 * time.Minute

// Collector makes and records certificates at the counter.
type Collector struct {
	Store   Store
	CA      Issuer
	KeyType KeyType
	Log     *slog.Logger
	Now     func() time.Time
}

// Delivery is what the person receives, once.
type Delivery struct {
	Bundle   []byte
	Password string
	Leaf     *x509.Certificate
	Account  *model.Account
}

// FileName is the bundle's file name as the person's browser saves it.
const FileName = "certificat-sceau.p12"

// Collect makes the certificate of an order whose code was verified.
// Exactly one of two concurrent calls on the last download succeeds; the
// other gets model.ErrCollectionBusy or model.ErrAlreadyCollected. When
// anything fails after the CA signed, the certificate is revoked (nobody
// received its key) and the download is given back, so the person can
// retry: there is never a certificate without its record, nor a used
// download without a delivered certificate.
func (c *Collector) Collect(ctx context.Context, o *model.CertificateOrder, caseRef string, profile bundle.Profile, address string, render model.CollectionMail) (*Delivery, error) {
	now := c.now()
	claim, err := randomString(16)
	if err != nil {
		return nil, err
	}
	if err := c.Store.ClaimCollection(ctx, o.ID, claim, now, now.Add(claimTime)); err != nil {
		return nil, err
	}
	d, err := c.collect(ctx, o, claim, caseRef, profile, address, render)
	if err != nil {
		// A fresh context: the request's may be what failed.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := c.Store.ReleaseCollection(rctx, o.ID, claim); rerr != nil {
			c.Log.Error("releasing a collection claim", "order", o.ID, "err", rerr)
		}
		return nil, err
	}
	return d, nil
}

func (c *Collector) collect(ctx context.Context, o *model.CertificateOrder, claim, caseRef string, profile bundle.Profile, address string, render model.CollectionMail) (*Delivery, error) {
	key, err := newKey(c.KeyType)
	if err != nil {
		return nil, err
	}
	csrDER, err := x509.CreateCertificateRequest(rand.Reader, &x509.CertificateRequest{}, key)
	if err != nil {
		return nil, err
	}
	csr, err := x509.ParseCertificateRequest(csrDER)
	if err != nil {
		return nil, err
	}
	chain, err := c.CA.IssueLitigant(ctx, csr, Request{Name: o.Name, Email: o.Email, CaseRef: caseRef,
		ParticipantID: fmt.Sprint(o.ParticipantID), Validity: time.Duration(o.ValidityDays) * 24 * time.Hour})
	if err != nil {
		return nil, fmt.Errorf("issuing: %w", err)
	}
	leaf := chain[0]
	d, err := c.deliver(ctx, o, claim, chain, key, profile, address, render)
	if err != nil {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := c.CA.Revoke(rctx, leaf.SerialNumber, 4); rerr != nil { // superseded: never delivered
			c.Log.Error("revoking an undelivered certificate", "serial", leaf.SerialNumber.String(), "err", rerr)
		}
		return nil, err
	}
	return d, nil
}

func (c *Collector) deliver(ctx context.Context, o *model.CertificateOrder, claim string, chain []*x509.Certificate, key crypto.Signer, profile bundle.Profile, address string, render model.CollectionMail) (*Delivery, error) {
	leaf := chain[0]
	password, err := bundle.NewPassword()
	if err != nil {
		return nil, err
	}
	p12, err := bundle.Encode(profile, key, leaf, chain[1:], password)
	if err != nil {
		return nil, err
	}
	fp := sha256.Sum256(leaf.Raw)
	acc, err := c.Store.CompleteCollection(ctx, &model.Collection{
		OrderID: o.ID, Claim: claim, At: c.now(),
		Certificate: model.CollectedCertificate{Serial: leaf.SerialNumber.String(), Fingerprint: hex.EncodeToString(fp[:]),
			NotAfter: leaf.NotAfter, Profile: string(profile), CollectedFrom: address},
		Account: model.AccountCertificate{Fingerprint: hex.EncodeToString(fp[:]), Issuer: leaf.Issuer.String(),
			Serial: leaf.SerialNumber.String(), Subject: leaf.Subject.String(), NotAfter: leaf.NotAfter},
	}, render)
	if err != nil {
		return nil, fmt.Errorf("recording: %w", err)
	}
	return &Delivery{Bundle: p12, Password: password, Leaf: leaf, Account: acc}, nil
}

func (c *Collector) now() time.Time {
	if c.Now != nil {
		return c.Now()
	}
	return time.Now()
}

// codeAlphabet avoids look-alikes (0/O, 1/I/L) and is read aloud easily.
const codeAlphabet = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"

// codeLength gives 31^8 ≈ 2^39.6 codes: with 5 guesses per order and a
// per-address limit, guessing is hopeless, and it is short to dictate.
const codeLength = 8

// Code derives the collection code of an order form from its nonce. The
// same form always gives the same code, so a double-clicked or resent
// order form shows the person's code again instead of losing it; without
// key nobody can compute it.
func Code(key []byte, nonce string) string {
	m := hmac.New(sha256.New, key)
	m.Write([]byte("sceau collection code\x00" + nonce))
	sum := m.Sum(nil)
	n := new(big.Int).SetBytes(sum)
	base := big.NewInt(int64(len(codeAlphabet)))
	var b strings.Builder
	for i := 0; i < codeLength; i++ {
		if i == codeLength/2 {
			b.WriteByte('-')
		}
		var r big.Int
		n.DivMod(n, base, &r)
		b.WriteByte(codeAlphabet[r.Int64()])
	}
	return b.String()
}

// NormaliseCode accepts what a person types: any case, spaces, dashes.
// The alphabet has no 0/O or 1/I/L, so a look-alike can only be wrong.
func NormaliseCode(s string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(s) {
		if r != ' ' && r != '-' && r != '\t' {
			b.WriteRune(r)
		}
	}
	out := b.String()
	if len(out) == codeLength {
		return out[:codeLength/2] + "-" + out[codeLength/2:]
	}
	return out
}

// HashCode is what the store keeps of a code: SHA-256 over a per-order
// salt and the normalised code.
func HashCode(salt, code string) string {
	sum := sha256.Sum256([]byte(salt + "\x00" + NormaliseCode(code)))
	return hex.EncodeToString(sum[:])
}

// CodeMatches compares a typed code with an order's hash in constant time.
func CodeMatches(o *model.CertificateOrder, typed string) bool {
	got := HashCode(o.CodeSalt, typed)
	return hmac.Equal([]byte(got), []byte(o.CodeHash))
}

// NewToken returns a collection link token (256 bits) and its hash.
func NewToken() (token, hash string, err error) {
	token, err = randomString(32)
	if err != nil {
		return "", "", err
	}
	return token, HashToken(token), nil
}

// HashToken is what the store keeps of a link token.
func HashToken(token string) string {
	sum := sha256.Sum256([]byte(token))
	return hex.EncodeToString(sum[:])
}

// NewSalt returns a per-order salt for the code hash.
func NewSalt() (string, error) { return randomString(16) }

func randomString(n int) (string, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}
