import { Duration } from 'aws-cdk-lib';
import { AccessLogFormat } from 'aws-cdk-lib/aws-apigateway';
import {
  CorsHttpMethod,
  HttpApi,
  HttpMethod,
  HttpStage,
  LogGroupLogDestination,
  type ThrottleSettings,
} from 'aws-cdk-lib/aws-apigatewayv2';
import { HttpIamAuthorizer } from 'aws-cdk-lib/aws-apigatewayv2-authorizers';
import { HttpLambdaIntegration } from 'aws-cdk-lib/aws-apigatewayv2-integrations';
import type { IFunction } from 'aws-cdk-lib/aws-lambda';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import type { RouteKey } from '../topology/model.ts';

/** Access log line: HTTP API `$context` variables (https://docs.aws.amazon.com/apigateway/latest/developerguide/http-api-logging-variables.html). */
const ACCESS_LOG_FORMAT = JSON.stringify({
  requestId: '$context.requestId',
  requestTime: '$context.requestTime',
  sourceIp: '$context.identity.sourceIp',
  callerArn: '$context.identity.userArn',
  routeKey: '$context.routeKey',
  status: '$context.status',
  responseLength: '$context.responseLength',
  latencyMs: '$context.responseLatency',
  integrationError: '$context.integrationErrorMessage',
});

/** Properties of a {@link FleetHttpApi}. */
export interface FleetHttpApiProps {
  readonly apiName: string;
  /** @default RetentionDays.ONE_MONTH */
  readonly logRetention?: RetentionDays;
  /** @default { rateLimit: 50, burstLimit: 100 } */
  readonly throttle?: ThrottleSettings;
  /**
   * Web origins allowed to call the API from a browser (the operator console's). API Gateway answers
   * their preflights; every request is still signed (IAM), CORS only lets the page read the answer.
   * @default - no CORS
   */
  readonly corsOrigins?: readonly string[];
}

/** `GET /devices/{id}` → method and path, or an error naming the key. */
export function parseRouteKey(routeKey: string): { method: HttpMethod; path: string } {
  const match = /^([A-Z]+) (\/\S*)$/.exec(routeKey);
  const method = Object.values(HttpMethod).find((m) => m === match?.[1]);
  if (match?.[2] === undefined || method === undefined) {
    throw new Error(`route key must be '<METHOD> /path'; got '${routeKey}'`);
  }
  return { method, path: match[2] };
}

/**
 * The HTTP API: every route requires SigV4 (IAM) auth, the `$default` stage auto-deploys, logs each
 * request to its own log group and throttles by default.
 */
export class FleetHttpApi extends Construct {
  readonly api: HttpApi;
  readonly stage: HttpStage;
  readonly accessLogs: LogGroup;

  constructor(scope: Construct, id: string, props: FleetHttpApiProps) {
    super(scope, id);
    this.api = new HttpApi(this, 'Api', {
      apiName: props.apiName,
      defaultAuthorizer: new HttpIamAuthorizer(),
      // Created below instead, because the default stage cannot be given access logging.
      createDefaultStage: false,
      ...(props.corsOrigins === undefined || props.corsOrigins.length === 0
        ? {}
        : {
            corsPreflight: {
              allowOrigins: [...props.corsOrigins],
              allowMethods: [
                CorsHttpMethod.GET,
                CorsHttpMethod.POST,
                CorsHttpMethod.PUT,
                CorsHttpMethod.PATCH,
                CorsHttpMethod.DELETE,
              ],
              // What a SigV4-signing page sends (aws4fetch): the signature, its date, a session token.
              allowHeaders: [
                'authorization',
                'content-type',
                'x-amz-date',
                'x-amz-security-token',
                'x-amz-content-sha256',
              ],
              exposeHeaders: ['x-amzn-errortype', 'x-amzn-requestid'],
              maxAge: Duration.hours(1),
            },
          }),
    });
    this.accessLogs = new LogGroup(this, 'AccessLogs', {
      retention: props.logRetention ?? RetentionDays.ONE_MONTH,
    });
    this.stage = new HttpStage(this, 'DefaultStage', {
      httpApi: this.api,
      stageName: '$default',
      autoDeploy: true,
      throttle: props.throttle ?? { rateLimit: 50, burstLimit: 100 },
      accessLogSettings: {
        destination: new LogGroupLogDestination(this.accessLogs),
        format: AccessLogFormat.custom(ACCESS_LOG_FORMAT),
      },
    });
  }

  /** The API's URL. */
  get url(): string {
    return this.stage.url;
  }

  /** Routes `routeKeys` to `fn` through one Lambda integration. */
  addFunctionRoutes(id: string, routeKeys: readonly RouteKey[], fn: IFunction): void {
    const integration = new HttpLambdaIntegration(id, fn);
    for (const routeKey of routeKeys) {
      const { method, path } = parseRouteKey(routeKey);
      this.api.addRoutes({ path, methods: [method], integration });
    }
  }
}
