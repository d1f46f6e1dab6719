// An independent OPC UA server for the driver's interop tests, built on
// node-opcua. The Go test starts it with `node`, passing a JSON
// configuration as the only argument, and reads "READY <port>" from its
// standard output once it listens, then one "SESSION {json}" line per
// activated session naming its channel's policy and mode and its user token.
//
// Configuration:
//   port            TCP port to listen on (0: the OS picks one)
//   certificateFile server application instance certificate (PEM)
//   privateKeyFile  its private key (PEM)
//   applicationUri  the URI in the certificate's subjectAltName
//   pkiDir          directory for the server's certificate stores
//   username        the one user accepted with password $PRETREAT_TEST_PASSWORD
//
// Address space (namespace 1, string node ids):
//   Counter   Int32, +1 every 100 ms (so subscriptions always have news)
//   Level     Double, read/write
//   Run       Boolean, read/write
"use strict";
const path = require("path");
const { OPCUAServer } = require("node-opcua-server");
const { SecurityPolicy } = require("node-opcua-secure-channel");
const { MessageSecurityMode } = require("node-opcua-types");
const { Variant, DataType } = require("node-opcua-variant");

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  const { OPCUACertificateManager } = require("node-opcua-certificate-manager");
  const serverCertificateManager = new OPCUACertificateManager({
    automaticallyAcceptUnknownCertificate: true,
    rootFolder: path.join(cfg.pkiDir, "server"),
  });
  const userCertificateManager = new OPCUACertificateManager({
    automaticallyAcceptUnknownCertificate: true,
    rootFolder: path.join(cfg.pkiDir, "user"),
  });
  await serverCertificateManager.initialize();
  await userCertificateManager.initialize();

  const server = new OPCUAServer({
    port: cfg.port,
    hostname: "127.0.0.1",
    alternateHostname: ["127.0.0.1"],
    certificateFile: cfg.certificateFile,
    privateKeyFile: cfg.privateKeyFile,
    serverCertificateManager,
    userCertificateManager,
    serverInfo: { applicationUri: cfg.applicationUri, productUri: "urn:pretreat:test:node-opcua" },
    securityPolicies: [
      SecurityPolicy.None,
      SecurityPolicy.Basic256Sha256,
      SecurityPolicy.Aes128_Sha256_RsaOaep,
      SecurityPolicy.Aes256_Sha256_RsaPss,
    ],
    securityModes: [MessageSecurityMode.None, MessageSecurityMode.Sign, MessageSecurityMode.SignAndEncrypt],
    allowAnonymous: true,
    userManager: {
      isValidUser: (user, password) => user === cfg.username && password === process.env.PRETREAT_TEST_PASSWORD,
    },
  });
  await server.initialize();

  const ns = server.engine.addressSpace.getOwnNamespace();
  const device = ns.addObject({ organizedBy: server.engine.addressSpace.rootFolder.objects, browseName: "Device" });
  let counter = 0;
  const counterVar = ns.addVariable({
    componentOf: device, nodeId: "s=Counter", browseName: "Counter", dataType: "Int32", minimumSamplingInterval: 50,
    value: { get: () => new Variant({ dataType: DataType.Int32, value: counter }) },
  });
  setInterval(() => { counter++; counterVar.touchValue(); }, 100);
  ns.addVariable({
    componentOf: device, nodeId: "s=Level", browseName: "Level", dataType: "Double",
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
    value: new Variant({ dataType: DataType.Double, value: 42.5 }),
  });
  ns.addVariable({
    componentOf: device, nodeId: "s=Run", browseName: "Run", dataType: "Boolean",
    accessLevel: "CurrentRead | CurrentWrite", userAccessLevel: "CurrentRead | CurrentWrite",
    value: new Variant({ dataType: DataType.Boolean, value: false }),
  });

  // Tell the test which security each session really used, so that it
  // checks the wire and not only its own configuration.
  server.on("session_activated", (session, token) => {
    const name = token && token.constructor ? token.constructor.name : "none";
    process.stdout.write(`SESSION ${JSON.stringify({
      session: session.sessionName, policy: session.channel.securityPolicy,
      mode: session.channel.securityMode, token: name, user: (token && token.userName) || "",
    })}\n`);
  });

  await server.start();
  process.stdout.write(`READY ${server.endpoints[0].port}\n`);
  const stop = async () => { await server.shutdown(0); process.exit(0); };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
}

main().catch((err) => { console.error(err); process.exit(1); });
