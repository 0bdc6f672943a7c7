/** nn: layers, losses, optimizers, initialisers and schedules over the engine's graph IR. */
export * from './attention';
export * from './decoder';
export * from './gpt';
export * from './init';
export * from './layers';
export * from './lm';
export * from './losses';
export * from './norm';
export * from './optim';
export * from './quantize';
export * from './rng';
export * from './rnn';
export * from './schedule';
export * from './vision';
