import tseslint from "typescript-eslint";

export default tseslint.config(
  { ignores: ["node_modules/**", "schema/**", ".test-results/**"] },
  ...tseslint.configs.recommended,
  {
    // CommonJS by nature: mocha loads reporters with require().
    files: ["**/*.cjs"],
    rules: { "@typescript-eslint/no-require-imports": "off" },
  },
  {
    rules: {
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
);
