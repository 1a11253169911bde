/**
 * rx-lifeline/redis: a session store on Redis, so that sessions outlive the server process. It
 * needs a Redis client: install `ioredis` (an optional peer dependency) and pass its client.
 * @packageDocumentation
 * @module rx-lifeline/redis
 */
export { redisSessionStore } from './redis-store.js';
export type { RedisSessionStoreOptions, RedisPipelineClient, RedisArgument } from './redis-store.js';
