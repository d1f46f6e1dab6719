// Package opcua is the OPC UA client driver (gopcua): one Device per server
// endpoint, owned by one goroutine (Run) that opens a secure session,
// subscribes to the subscribed points (one monitored item each, with the
// point's sampling interval, queue size and deadband), reads the polled
// points every poll interval, pushes the values as samples with quality into
// a drivers.Sink and executes queued writes in between, checking the status
// code and verifying each by read-back.
//
// Security: policy None, or Basic256Sha256, Aes128_Sha256_RsaOaep and
// Aes256_Sha256_RsaPss in mode Sign or SignAndEncrypt; anonymous, user name
// (password from an environment variable) or X.509 certificate user tokens.
// The library does not check the server's certificate, so the driver does:
// before a session is opened, the certificate the server's endpoint
// presents must be in the trust list (or chain to a CA in it) or match the
// pinned thumbprint; otherwise the points turn bad:config_error with a
// reason wrapping drivers.ErrUntrustedServer that names the thumbprint.
//
// New validates the configuration, parses the node ids and loads the
// certificates, keys, trust list and password without touching the network,
// so the controller starts while a server is offline. Run keeps the points
// bad:comm_failure (with their last value) until the server answers,
// tearing the client down and reconnecting with backoff from 200 ms doubling
// to 5 s whenever the connection fails; the subscription is created anew on
// each connection. A freshness watchdog reads every subscribed node when no
// notification arrived for five poll intervals and pushes what it read (fresh
// values); a value that moved without a notification means the subscription
// stopped while the client still says "connected" (a known failure mode) or
// its notifications are late, so the driver subscribes anew; an unchanged
// value means the server was only quiet. A node whose monitored item the server cannot
// provide as asked (filter or deadband refused) is polled instead.
//
// Values of any numeric or boolean variant become float64 (then scale,
// offset and range check as on Modbus); a bad status marks the point
// bad:device_exception, or bad:config_error when the node does not exist.
// Writes use the variant type the server reported for the node (the
// configured type when it never did), with integers rounded and clamped.
// The package does not retry writes: a write queued while the device is
// disconnected fails with drivers.ErrNotConnected so that a stale command is
// never replayed.
package opcua
