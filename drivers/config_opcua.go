package drivers

// The keys of an OPC UA device and point in the plant file. Their checks,
// defaults and the devices they describe are the business of the OPC UA
// driver (drivers/opcua); they stay here, in DeviceConfig and PointConfig,
// because the plant file is decoded and its keys checked from these types.

// MonitorMode says how an OPC UA point is read.
type MonitorMode string

// Monitor modes. The empty value means MonitorSubscribe.
const (
	// MonitorSubscribe: a monitored item in the device's subscription;
	// the server notifies changes.
	MonitorSubscribe MonitorMode = "subscribe"
	// MonitorPoll: read every poll interval, for servers whose monitored
	// items misbehave for that node.
	MonitorPoll MonitorMode = "poll"
)

// DeadbandType is the kind of an OPC UA data-change deadband.
type DeadbandType string

// Deadband types (OPC UA Part 4, DataChangeFilter).
const (
	// DeadbandAbsolute: notify when the value moved by more than Deadband
	// in raw units.
	DeadbandAbsolute DeadbandType = "absolute"
	// DeadbandPercent: notify when the value moved by more than Deadband
	// percent of the node's EURange (the server must know one).
	DeadbandPercent DeadbandType = "percent"
)

// SecurityPolicy names an OPC UA security policy by its short name.
type SecurityPolicy string

// Security policies supported by the OPC UA driver.
const (
	PolicyNone                SecurityPolicy = "None"
	PolicyBasic256Sha256      SecurityPolicy = "Basic256Sha256"
	PolicyAes128Sha256RsaOaep SecurityPolicy = "Aes128_Sha256_RsaOaep"
	PolicyAes256Sha256RsaPss  SecurityPolicy = "Aes256_Sha256_RsaPss"
)

// SecurityMode is an OPC UA message security mode.
type SecurityMode string

// Security modes.
const (
	ModeNone           SecurityMode = "None"
	ModeSign           SecurityMode = "Sign"
	ModeSignAndEncrypt SecurityMode = "SignAndEncrypt"
)

// OPCUASecurity is the secure channel of an OPC UA device. With a policy
// other than None the client needs its own certificate and key, and the
// server's certificate must be trusted: listed (or signed by a CA listed)
// in Trust, or matching ServerThumbprint. The driver refuses any other
// server.
type OPCUASecurity struct {
	Policy SecurityPolicy `yaml:"policy,omitempty" json:"policy,omitempty"`
	Mode   SecurityMode   `yaml:"mode,omitempty" json:"mode,omitempty"`
	// Certificate and PrivateKey are the client application instance
	// certificate (PEM or DER) and its RSA key (PEM, PKCS#1 or PKCS#8). The
	// certificate's URI SAN is used as the application URI.
	Certificate string `yaml:"certificate,omitempty" json:"certificate,omitempty"`
	PrivateKey  string `yaml:"private_key,omitempty" json:"private_key,omitempty"`
	// Trust lists files (PEM or DER certificates) and directories of them.
	Trust []string `yaml:"trust,omitempty" json:"trust,omitempty"`
	// ServerThumbprint pins the server certificate by its SHA-1 (40 hex
	// digits, the OPC UA thumbprint) or SHA-256 (64 hex digits) digest;
	// colons and spaces are ignored.
	ServerThumbprint string `yaml:"server_thumbprint,omitempty" json:"server_thumbprint,omitempty"`
}

// AuthType is the kind of OPC UA user identity token.
type AuthType string

// User identity token types.
const (
	AuthAnonymous   AuthType = "anonymous"
	AuthUsername    AuthType = "username"
	AuthCertificate AuthType = "certificate"
)

// OPCUAAuth is the user identity an OPC UA session activates with. The
// password is never written in the plant file: PasswordEnv names the
// environment variable that holds it.
type OPCUAAuth struct {
	Type        AuthType `yaml:"type,omitempty" json:"type,omitempty"`
	Username    string   `yaml:"username,omitempty" json:"username,omitempty"`
	PasswordEnv string   `yaml:"password_env,omitempty" json:"password_env,omitempty"`
	// Certificate and PrivateKey are the user's X.509 identity.
	Certificate string `yaml:"certificate,omitempty" json:"certificate,omitempty"`
	PrivateKey  string `yaml:"private_key,omitempty" json:"private_key,omitempty"`
}
