// The pod bridge (decision 30): the URL a serving core is reached by from the cluster, checked
// at `nexus serve`, and the Secret's bridge file only when the launcher gave the run its tokens.
// (The bridge answering to the URL's host name: bridge-origin.test.ts.)
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  checkPodBridgeUrl,
  podBridgeFiles,
  podBridgeHost,
  POD_BRIDGE_FILE,
} from '../../src/adapters/runtime/kubernetes/pod-bridge.ts';

void describe('pod bridge', () => {
  void it('takes ws:// and wss:// URLs without credentials, query or fragment', () => {
    assert.equal(
      checkPodBridgeUrl('ws://nexus.nexus-agents.svc:7777/'),
      'ws://nexus.nexus-agents.svc:7777',
    );
    assert.equal(checkPodBridgeUrl('wss://core.example.com'), 'wss://core.example.com');
    for (const bad of ['http://x:1', 'nexus:7777', 'ws://u:p@x:1', 'ws://x:1/?t=1', 'not a url'])
      assert.throws(() => checkPodBridgeUrl(bad), { code: 'USAGE' }, bad);
    assert.equal(podBridgeHost('ws://Nexus.Nexus-Agents.svc:7777'), 'nexus.nexus-agents.svc');
  });

  void it('puts the bridge into the Secret only with both of the run’s tokens', () => {
    const url = 'ws://nexus.nexus-agents.svc:7777';
    const tokens = { NEXUS_TOKEN: 'r1.run.mac', NEXUS_AGENT_TOKEN: 'a1.run.mac' };
    assert.deepEqual(JSON.parse(podBridgeFiles(url, tokens)[POD_BRIDGE_FILE] ?? ''), {
      url,
      token: 'r1.run.mac',
      agent_token: 'a1.run.mac',
    });
    assert.deepEqual(podBridgeFiles(undefined, tokens), {});
    // The terminal's embedded core gives its runners no tokens: those pods report on their log.
    assert.deepEqual(podBridgeFiles(url, { NEXUS_STATE_DIR: '/s' }), {});
  });
});
