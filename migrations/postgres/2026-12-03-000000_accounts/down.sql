DROP TABLE account_classes;
DROP TABLE accounts;
