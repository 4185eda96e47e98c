import { createMetrics } from '../../src/metrics';
import { parseExposition, type Exposition } from './prometheus-text';

/**
 * Metrics as a gateway exposes them (default process metrics included), with one observation
 * in every Herald metric so that each family shows its samples and labels.
 */
export async function sampleExposition(): Promise<{ text: string; exposition: Exposition }> {
  const metrics = createMetrics();
  metrics.setQueueDepthReader(async () => ({ ready: 2, scheduled: 1, leased: 0 }));
  metrics.webhookRequests.inc({ source: 'shop', status: '202' });
  metrics.notifications.inc({ plugin: 'chat', status: 'delivered' });
  metrics.fcmMessages.inc({ plugin: 'chat', outcome: 'success', error_code: '' });
  metrics.fcmMessages.inc({ plugin: 'chat', outcome: 'failure', error_code: 'UNREGISTERED' });
  metrics.fcmSendDuration.observe({ plugin: 'chat' }, 0.042);
  metrics.tokensPruned.inc({ reason: 'UNREGISTERED' });
  metrics.deviceRegistrations.inc({ platform: 'ios', outcome: 'created' });
  metrics.httpRequestDuration.observe(
    { method: 'GET', route: '/v1/devices/:id', status: '200' },
    0.003,
  );

  const text = await metrics.registry.metrics();
  return { text, exposition: parseExposition(text) };
}
