package opcua

import (
	"bytes"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/gopcua/opcua/ua"

	"github.com/pretreat/pretreat/drivers"
)

// policyURIs maps the plant file's policy names to OPC UA policy URIs.
var policyURIs = map[drivers.SecurityPolicy]string{
	drivers.PolicyNone:                ua.SecurityPolicyURINone,
	drivers.PolicyBasic256Sha256:      ua.SecurityPolicyURIBasic256Sha256,
	drivers.PolicyAes128Sha256RsaOaep: ua.SecurityPolicyURIAes128Sha256RsaOaep,
	drivers.PolicyAes256Sha256RsaPss:  ua.SecurityPolicyURIAes256Sha256RsaPss,
}

var securityModes = map[drivers.SecurityMode]ua.MessageSecurityMode{
	drivers.ModeNone:           ua.MessageSecurityModeNone,
	drivers.ModeSign:           ua.MessageSecurityModeSign,
	drivers.ModeSignAndEncrypt: ua.MessageSecurityModeSignAndEncrypt,
}

// security is a device's loaded security material: what New reads from the
// files and the environment the plant file names, so that Run needs no file
// system and a missing file is a configuration error at start.
type security struct {
	policy    drivers.SecurityPolicy
	policyURI string
	mode      ua.MessageSecurityMode
	cert      []byte // client application instance certificate, DER
	key       *rsa.PrivateKey
	appURI    string // from the certificate's URI SAN
	trust     []*x509.Certificate
	pinned    []byte // server certificate digest (SHA-1 or SHA-256), nil if not pinned

	authType ua.UserTokenType
	username string
	password string
	userCert []byte // DER
	userKey  *rsa.PrivateKey
}

// loadSecurity reads the security material of cfg. Problems come back as
// *drivers.ConfigError at the plant-file key concerned.
func loadSecurity(cfg *drivers.DeviceConfig) (*security, []error) {
	var errs []error
	addErr := func(path, format string, args ...any) {
		errs = append(errs, &drivers.ConfigError{Path: path, Message: fmt.Sprintf(format, args...)})
	}
	s := &security{policy: drivers.PolicyNone, policyURI: ua.SecurityPolicyURINone, mode: ua.MessageSecurityModeNone, authType: ua.UserTokenTypeAnonymous}
	if sc := cfg.Security; sc != nil {
		if sc.Policy != "" {
			s.policy, s.policyURI = sc.Policy, policyURIs[sc.Policy]
		}
		if sc.Mode != "" {
			s.mode = securityModes[sc.Mode]
		}
		if sc.Certificate != "" {
			der, err := readCertificate(sc.Certificate)
			if err != nil {
				addErr("security.certificate", "%v", err)
			} else {
				s.cert = der
				if c, err := x509.ParseCertificate(der); err == nil && len(c.URIs) > 0 {
					s.appURI = c.URIs[0].String()
				}
			}
		}
		if sc.PrivateKey != "" {
			key, err := readPrivateKey(sc.PrivateKey)
			if err != nil {
				addErr("security.private_key", "%v", err)
			}
			s.key = key
		}
		for i, path := range sc.Trust {
			certs, err := readTrust(path)
			if err != nil {
				addErr(fmt.Sprintf("security.trust[%d]", i), "%v", err)
			}
			s.trust = append(s.trust, certs...)
		}
		if sc.ServerThumbprint != "" {
			h := strings.NewReplacer(":", "", " ", "").Replace(sc.ServerThumbprint)
			pinned, err := hex.DecodeString(h)
			if err != nil {
				addErr("security.server_thumbprint", "%v", err)
			}
			s.pinned = pinned
		}
	}
	if a := cfg.Auth; a != nil {
		switch a.Type {
		case drivers.AuthUsername:
			s.authType, s.username = ua.UserTokenTypeUserName, a.Username
			if a.PasswordEnv != "" {
				pw, ok := os.LookupEnv(a.PasswordEnv)
				if !ok {
					addErr("auth.password_env", "environment variable %s (the password of user %s) is not set", a.PasswordEnv, a.Username)
				}
				s.password = pw
			}
		case drivers.AuthCertificate:
			s.authType = ua.UserTokenTypeCertificate
			if a.Certificate != "" {
				der, err := readCertificate(a.Certificate)
				if err != nil {
					addErr("auth.certificate", "%v", err)
				}
				s.userCert = der
			}
			if a.PrivateKey != "" {
				key, err := readPrivateKey(a.PrivateKey)
				if err != nil {
					addErr("auth.private_key", "%v", err)
				}
				s.userKey = key
			}
		}
	}
	return s, errs
}

// needsEndpoints reports whether connecting must first ask the server for
// its endpoints: to find the endpoint of the policy and mode, the server's
// certificate (to check it, and to encrypt with it) and the policy id of
// the user token.
func (s *security) needsEndpoints() bool {
	return s.policy != drivers.PolicyNone || s.authType != ua.UserTokenTypeAnonymous || len(s.trust) > 0 || s.pinned != nil
}

// verify checks the server's certificate (DER) against the pinned
// thumbprint, or else the trust list: a listed certificate, or one that
// chains to a listed CA and is valid now. The error wraps
// drivers.ErrUntrustedServer and gives the thumbprint to pin.
func (s *security) verify(der []byte) error {
	sum1 := sha1.Sum(der)
	thumb := hex.EncodeToString(sum1[:])
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return fmt.Errorf("%w: the server sent no valid certificate (%v)", drivers.ErrUntrustedServer, err)
	}
	refuse := func(why string) error {
		return fmt.Errorf("%w: %q (SHA-1 thumbprint %s) %s; add it to security.trust or pin it with security.server_thumbprint",
			drivers.ErrUntrustedServer, cert.Subject.String(), thumb, why)
	}
	if s.pinned != nil {
		sum256 := sha256.Sum256(der)
		if bytes.Equal(s.pinned, sum1[:]) || bytes.Equal(s.pinned, sum256[:]) {
			return nil
		}
		return refuse("does not match security.server_thumbprint")
	}
	if len(s.trust) == 0 {
		return refuse("cannot be checked: no trust list is configured")
	}
	roots := x509.NewCertPool()
	for _, t := range s.trust {
		if bytes.Equal(t.Raw, der) {
			return nil
		}
		roots.AddCert(t)
	}
	if _, err := cert.Verify(x509.VerifyOptions{Roots: roots, CurrentTime: time.Now(), KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		return refuse(fmt.Sprintf("is not in the trust list nor signed by a CA in it (%v)", err))
	}
	return nil
}

// readCertificate reads a certificate file, PEM or DER, and returns its DER.
func readCertificate(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if _, err := x509.ParseCertificate(b); err != nil {
		return nil, fmt.Errorf("%s: not a certificate: %v", path, err)
	}
	return b, nil
}

// readPrivateKey reads an RSA private key, PEM (PKCS#1 or PKCS#8) or DER.
func readPrivateKey(path string) (*rsa.PrivateKey, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if blk, _ := pem.Decode(b); blk != nil {
		b = blk.Bytes
	}
	if k, err := x509.ParsePKCS1PrivateKey(b); err == nil {
		return k, nil
	}
	k, err := x509.ParsePKCS8PrivateKey(b)
	if err != nil {
		return nil, fmt.Errorf("%s: not an RSA private key (PKCS#1 or PKCS#8)", path)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%s: the key is %T; OPC UA needs RSA", path, k)
	}
	return rk, nil
}

// readTrust reads a trusted certificate file, or every certificate file
// (.der, .pem, .crt, .cer) in a directory.
func readTrust(path string) ([]*x509.Certificate, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	files := []string{path}
	if st.IsDir() {
		files = nil
		entries, err := os.ReadDir(path)
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			switch strings.ToLower(filepath.Ext(e.Name())) {
			case ".der", ".pem", ".crt", ".cer":
				files = append(files, filepath.Join(path, e.Name()))
			}
		}
		if len(files) == 0 {
			return nil, fmt.Errorf("%s holds no certificate file (.der, .pem, .crt, .cer)", path)
		}
	}
	var certs []*x509.Certificate
	var errs []error
	for _, f := range files {
		der, err := readCertificate(f)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		c, _ := x509.ParseCertificate(der)
		certs = append(certs, c)
	}
	return certs, errors.Join(errs...)
}
