// An independent OPC UA client for the rig's interop test, built on
// node-opcua-client. The Go test runs it with `node`, passing a JSON
// configuration as the only argument; it prints one JSON result on standard
// output and exits 0, or prints the error and exits 1.
//
// Configuration:
//   pkiDir       directory for the client's certificate store
//   url          endpoint URL (security None, anonymous)
//   read         node ids to read (Value attribute)
//   subscribe    a node id to monitor
//   subscribeMs  how long to collect its notifications
//   write        {nodeId, value}: a Double to write
//
// Result:
//   browse         every node found from the Objects folder down two levels:
//                  {nodeId, browseName, nodeClass, parent}
//   read           {nodeId, value, status} per node read
//   notifications  the values the subscription delivered
//   write          the status of the write
"use strict";
const {
  OPCUAClient, MessageSecurityMode, SecurityPolicy, AttributeIds, TimestampsToReturn,
  ClientSubscription, ClientMonitoredItem, BrowseDirection, NodeClass, DataType,
} = require("node-opcua-client");

async function browseAll(session, nodeId, depth, out, parent) {
  const res = await session.browse({
    nodeId, browseDirection: BrowseDirection.Forward, includeSubtypes: true,
    referenceTypeId: "HierarchicalReferences", nodeClassMask: 0, resultMask: 63,
  });
  for (const ref of res.references || []) {
    const id = ref.nodeId.toString();
    out.push({ nodeId: id, browseName: ref.browseName.name, nodeClass: NodeClass[ref.nodeClass], parent });
    // Down into the device folders the rig adds to Objects, not into
    // the standard Server object.
    if (depth > 1 && ref.nodeClass === NodeClass.Object && ref.nodeId.namespace !== 0) {
      await browseAll(session, ref.nodeId, depth - 1, out, id);
    }
  }
}

async function main() {
  const cfg = JSON.parse(process.argv[2]);
  const { OPCUACertificateManager } = require("node-opcua-certificate-manager");
  // The client's own certificate goes to the test's directory, not the
  // user's home.
  const clientCertificateManager = new OPCUACertificateManager({
    automaticallyAcceptUnknownCertificate: true,
    rootFolder: cfg.pkiDir,
  });
  await clientCertificateManager.initialize();
  const client = OPCUAClient.create({
    applicationName: "pretreat-interop",
    clientCertificateManager,
    endpointMustExist: false,
    securityMode: MessageSecurityMode.None,
    securityPolicy: SecurityPolicy.None,
    connectionStrategy: { maxRetry: 2, initialDelay: 200, maxDelay: 1000 },
    requestedSessionTimeout: 60000,
  });
  await client.connect(cfg.url);
  const session = await client.createSession();
  const result = { browse: [], read: [], notifications: [], write: null };
  try {
    await browseAll(session, "ns=0;i=85", 2, result.browse, "ns=0;i=85");
    for (const nodeId of cfg.read || []) {
      const dv = await session.read({ nodeId, attributeId: AttributeIds.Value });
      const v = dv.value ? dv.value.value : null;
      result.read.push({ nodeId, value: typeof v === "bigint" ? Number(v) : v, status: dv.statusCode.name });
    }
    if (cfg.write) {
      const st = await session.write({
        nodeId: cfg.write.nodeId, attributeId: AttributeIds.Value,
        value: { value: { dataType: DataType.Double, value: cfg.write.value } },
      });
      result.write = st.name;
    }
    if (cfg.subscribe) {
      const sub = ClientSubscription.create(session, {
        requestedPublishingInterval: 100, requestedLifetimeCount: 600, requestedMaxKeepAliveCount: 20,
        maxNotificationsPerPublish: 100, publishingEnabled: true, priority: 10,
      });
      const item = ClientMonitoredItem.create(sub, { nodeId: cfg.subscribe, attributeId: AttributeIds.Value },
        { samplingInterval: 100, discardOldest: true, queueSize: 10 }, TimestampsToReturn.Both);
      item.on("changed", (dv) => result.notifications.push(dv.value ? dv.value.value : null));
      await new Promise((r) => setTimeout(r, cfg.subscribeMs || 2000));
      await sub.terminate();
    }
  } finally {
    await session.close();
    await client.disconnect();
  }
  process.stdout.write(JSON.stringify(result) + "\n");
}

main().then(() => process.exit(0), (err) => {
  process.stderr.write(String(err && err.stack || err) + "\n");
  process.exit(1);
});
