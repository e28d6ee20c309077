// Optional Event Hubs target for Defender for Cloud continuous export. Warden's Event Hubs
// trigger reads it with its managed identity (Azure Event Hubs Data Receiver on the hub).
// Defender's export action authenticates with a connection string, so the namespace keeps local
// (SAS) auth enabled, and the only SAS rule is a Send-only rule on this one hub.
param location string
param tags object
param namespaceName string
param eventHubName string = 'defender-alerts'
param consumerGroupName string = 'warden'
param sendRuleName string = 'defender-export-send'

resource eventHubNamespace 'Microsoft.EventHub/namespaces@2024-01-01' = {
  name: namespaceName
  location: location
  tags: tags
  sku: {
    name: 'Standard'
    tier: 'Standard'
    capacity: 1
  }
  properties: {
    minimumTlsVersion: '1.2'
    publicNetworkAccess: 'Enabled'
    disableLocalAuth: false
    isAutoInflateEnabled: false
  }
}

resource hub 'Microsoft.EventHub/namespaces/eventhubs@2024-01-01' = {
  parent: eventHubNamespace
  name: eventHubName
  properties: {
    partitionCount: 2
    messageRetentionInDays: 1
  }
}

resource consumerGroup 'Microsoft.EventHub/namespaces/eventhubs/consumergroups@2024-01-01' = {
  parent: hub
  name: consumerGroupName
}

resource sendRule 'Microsoft.EventHub/namespaces/eventhubs/authorizationRules@2024-01-01' = {
  parent: hub
  name: sendRuleName
  properties: {
    rights: [
      'Send'
    ]
  }
}

output namespaceName string = eventHubNamespace.name
// serviceBusEndpoint is https://<ns>.servicebus.windows.net:443/ (suffix differs in sovereign clouds).
output fullyQualifiedNamespace string = split(split(eventHubNamespace.properties.serviceBusEndpoint, '//')[1], ':')[0]
output eventHubName string = hub.name
output consumerGroupName string = consumerGroup.name
output sendRuleName string = sendRule.name
