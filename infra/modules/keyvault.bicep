// Warden's Key Vault: RBAC authorization only (no access policies), soft delete + purge
// protection. Holds the approval-link signing key, optional Teams webhook and Easy Auth client
// secret, and the API-key secrets Warden rotates (tagged CredentialId/ProviderAddress/...).
param location string
param tags object
param keyVaultName string

@secure()
param linkSigningKey string

@secure()
param teamsWebhookUrl string = ''

@secure()
param authClientSecret string = ''

@description('Expiry stamped on the secrets this template writes (they are re-written, with a new expiry, on each provision).')
param secretExpiry string = dateTimeAdd(utcNow(), 'P365D')

var expiresEpoch = dateTimeToEpoch(secretExpiry)

resource vault 'Microsoft.KeyVault/vaults@2023-07-01' = {
  #checkov:skip=CKV_AZURE_109: The Flex Consumption app has no VNet in this deployment and App Service is not a Key Vault trusted service, so the firewall cannot default to Deny without breaking Key Vault references; access needs Entra auth plus an RBAC data role.
  #checkov:skip=CKV_AZURE_189: Same reason as CKV_AZURE_109: public network access stays enabled until the VNet-integrated variant exists.
  name: keyVaultName
  location: location
  tags: tags
  properties: {
    tenantId: tenant().tenantId
    sku: {
      family: 'A'
      name: 'standard'
    }
    enableRbacAuthorization: true
    enableSoftDelete: true
    softDeleteRetentionInDays: 90
    enablePurgeProtection: true
    enabledForDeployment: false
    enabledForDiskEncryption: false
    enabledForTemplateDeployment: false
    publicNetworkAccess: 'Enabled'
    networkAcls: {
      defaultAction: 'Allow'
      bypass: 'AzureServices'
    }
  }
}

module linkSigningKeySecret 'kv-secret.bicep' = {
  name: 'warden-secret-link-signing-key'
  params: {
    keyVaultName: vault.name
    secretName: 'warden-link-signing-key'
    value: linkSigningKey
    contentType: 'text/plain; purpose=warden-approval-link-hmac'
    expiresEpoch: expiresEpoch
  }
}

module teamsWebhookSecret 'kv-secret.bicep' = if (!empty(teamsWebhookUrl)) {
  name: 'warden-secret-teams-webhook-url'
  params: {
    keyVaultName: vault.name
    secretName: 'warden-teams-webhook-url'
    value: teamsWebhookUrl
    contentType: 'text/uri-list'
    expiresEpoch: expiresEpoch
  }
}

module authClientSecretSecret 'kv-secret.bicep' = if (!empty(authClientSecret)) {
  name: 'warden-secret-auth-client-secret'
  params: {
    keyVaultName: vault.name
    secretName: 'warden-auth-client-secret'
    value: authClientSecret
    contentType: 'text/plain; purpose=app-service-authentication'
    expiresEpoch: expiresEpoch
  }
}

output name string = vault.name
output id string = vault.id
output uri string = vault.properties.vaultUri
output linkSigningKeySecretUri string = linkSigningKeySecret.outputs.uri
output teamsWebhookSecretUri string = empty(teamsWebhookUrl) ? '' : '${vault.properties.vaultUri}secrets/warden-teams-webhook-url'
output authClientSecretUri string = empty(authClientSecret) ? '' : '${vault.properties.vaultUri}secrets/warden-auth-client-secret'
