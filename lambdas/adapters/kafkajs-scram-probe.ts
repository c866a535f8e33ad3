import { GetBootstrapBrokersCommand, type KafkaClient } from '@aws-sdk/client-kafka';
import { Kafka, KafkaJSSASLAuthenticationError, logLevel } from 'kafkajs';
import type { ScramCredentials } from '../../lib/protocol/scram-rotation.ts';
import type { ScramProbe } from '../services/scram-rotation.ts';
import { kafkajsConfig } from './kafkajs-config.ts';

/** Properties of a {@link KafkajsScramProbe}. */
export interface KafkajsScramProbeProps {
  /** The MSK control plane, for the SASL/SCRAM bootstrap brokers. */
  readonly kafkaClient: KafkaClient;
  readonly clusterArn: string;
  /**
   * A topic the users produce to: signing in is not enough, the user must also see it (its ACLs).
   * @default - signing in is enough
   */
  readonly topic?: string;
}

/**
 * Signs in to MSK with SASL/SCRAM-SHA-512 over TLS, as IoT's Kafka action does, and reads the topic's
 * metadata (which needs the user's DESCRIBE ACL on it). A refused SASL handshake is `false` — MSK has
 * not loaded the password yet; any other failure is thrown.
 */
export class KafkajsScramProbe implements ScramProbe {
  private brokers?: string[];

  constructor(private readonly props: KafkajsScramProbeProps) {}

  async signsIn(credentials: ScramCredentials): Promise<boolean> {
    const brokers = await this.scramBrokers();
    const kafka = new Kafka({
      ...kafkajsConfig(
        { brokers, ssl: {}, sasl: { mechanism: 'scram-sha-512', ...credentials } },
        { clientId: 'fleetkit-scram-rotation' },
      ),
      logLevel: logLevel.NOTHING,
    });
    const admin = kafka.admin();
    try {
      await admin.connect();
      if (this.props.topic !== undefined) await admin.fetchTopicMetadata({ topics: [this.props.topic] });
      return true;
    } catch (error) {
      if (error instanceof KafkaJSSASLAuthenticationError) return false;
      throw error;
    } finally {
      await admin.disconnect();
    }
  }

  private async scramBrokers(): Promise<string[]> {
    if (this.brokers === undefined) {
      const result = await this.props.kafkaClient.send(
        new GetBootstrapBrokersCommand({ ClusterArn: this.props.clusterArn }),
      );
      const brokers = (result.BootstrapBrokerStringSaslScram ?? '').split(',').filter((b) => b !== '');
      if (brokers.length === 0) throw new Error(`cluster ${this.props.clusterArn} has no SASL/SCRAM brokers`);
      this.brokers = brokers;
    }
    return this.brokers;
  }
}
