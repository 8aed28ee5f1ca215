export * from './backend';
export * from './params';
export * from './mlp';
export * from './checkpoint-bytes';
export * from './columnar';

export * from './child';
export * from './compare-weights';
