// Reads a topic with kafkajs (a Kafka client that is not Python) and prints one JSON line per message.
// usage: node read_topic.js HOST:PORT TOPIC EXPECTED_COUNT
const { Kafka, logLevel } = require('kafkajs');
const [broker, topic, expected] = process.argv.slice(2);
const kafka = new Kafka({ clientId: 'wirewatch-check', brokers: [broker], logLevel: logLevel.ERROR });
(async () => {
  const consumer = kafka.consumer({ groupId: 'check-' + Date.now(), sessionTimeout: 6000 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let n = 0;
  const done = new Promise(async (resolve) => {
    await consumer.run({ eachMessage: async ({ partition, message }) => {
      const headers = {}; for (const [k, v] of Object.entries(message.headers || {})) headers[k] = v.toString();
      process.stdout.write(JSON.stringify({ partition, offset: message.offset, key: message.key && message.key.toString(), headers, value: message.value.toString() }) + '\n');
      if (++n >= Number(expected)) resolve();
    }});
  });
  const timer = setTimeout(() => { console.error('timeout after ' + n); process.exit(2); }, 60000);
  await done; clearTimeout(timer); await consumer.disconnect(); process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
